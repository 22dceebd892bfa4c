import type { JWTPayload } from 'jose';

export interface ServiceAccountIdentity {
  namespace: string;
  name: string;
  uid: string;
  /** The Secret a legacy token was minted for ('' for projected tokens and TokenReview): Vault's alias metadata. */
  secretName?: string;
}

/**
 * The service account a verified JWT speaks for. Projected (bound) tokens carry a `kubernetes.io` object claim;
 * legacy Secret-based tokens carry flat `kubernetes.io/serviceaccount/...` claims. Returns undefined when neither
 * is present, or when the two forms disagree (a token claiming two identities is not trusted with either).
 */
export function serviceAccountFromClaims(payload: JWTPayload): ServiceAccountIdentity | undefined {
  const projected = fromProjected(payload['kubernetes.io']);
  const legacy = fromLegacy(payload);
  if (projected && legacy && (projected.namespace !== legacy.namespace || projected.name !== legacy.name))
    return undefined;
  const identity = projected ?? legacy;
  if (!identity) return undefined;
  // `sub` is system:serviceaccount:<ns>:<name> on both kinds; when present it must agree.
  if (typeof payload.sub === 'string' && payload.sub.startsWith('system:serviceaccount:')) {
    if (payload.sub !== `system:serviceaccount:${identity.namespace}:${identity.name}`) return undefined;
  }
  return identity;
}

function fromProjected(claim: unknown): ServiceAccountIdentity | undefined {
  if (!isObject(claim)) return undefined;
  const sa = claim['serviceaccount'];
  const namespace = claim['namespace'];
  if (!isObject(sa) || !nonEmpty(namespace) || !nonEmpty(sa['name'])) return undefined;
  const secret = claim['secret'];
  const secretName = isObject(secret) && typeof secret['name'] === 'string' ? secret['name'] : '';
  return { namespace, name: sa['name'], uid: typeof sa['uid'] === 'string' ? sa['uid'] : '', secretName };
}

function fromLegacy(payload: JWTPayload): ServiceAccountIdentity | undefined {
  const namespace = payload['kubernetes.io/serviceaccount/namespace'];
  const name = payload['kubernetes.io/serviceaccount/service-account.name'];
  const uid = payload['kubernetes.io/serviceaccount/service-account.uid'];
  const secretName = payload['kubernetes.io/serviceaccount/secret.name'];
  if (!nonEmpty(namespace) || !nonEmpty(name)) return undefined;
  return {
    namespace,
    name,
    uid: typeof uid === 'string' ? uid : '',
    secretName: typeof secretName === 'string' ? secretName : '',
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
