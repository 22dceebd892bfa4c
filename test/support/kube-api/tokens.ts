/**
 * Service-account tokens: the TokenRequest subresource issues RS256 JWTs shaped like kube-apiserver's bound tokens,
 * and TokenReview checks them (signature, issuer, expiry, audience, and that the service account — and bound pod —
 * still exist with the same uid, which is how deleting a service account revokes its tokens).
 * The public key is exposed (JWKS, PEM, OIDC discovery) so Strongroom's Kubernetes auth can be configured against it.
 */
import { randomUUID } from 'node:crypto';
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  jwtVerify,
  type JWK,
  type CryptoKey,
} from 'jose';
import type { Obj, Registry } from './registry.js';
import { cause, invalidError } from './status.js';
import type { ObjectStore } from './store.js';

export interface ServiceAccountIssuer {
  issuer: string;
  /** Audiences a token gets when the request names none, and that TokenReview checks when the review names none. */
  apiAudiences: string[];
  jwks: { keys: JWK[] };
  publicKeyPem: string;
}

export interface IssueOptions {
  audiences?: string[];
  expirationSeconds?: number;
  boundPod?: { name: string; uid: string };
}

interface KubernetesClaims {
  namespace: string;
  serviceaccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
}

export class TokenAuthority {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly kid: string,
    readonly info: ServiceAccountIssuer,
    private readonly store: ObjectStore,
    private readonly registry: Registry,
  ) {}

  static async create(store: ObjectStore, registry: Registry, issuer: string): Promise<TokenAuthority> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk);
    const info: ServiceAccountIssuer = {
      issuer,
      apiAudiences: [issuer],
      jwks: { keys: [{ ...jwk, kid, use: 'sig', alg: 'RS256' }] },
      publicKeyPem: await exportSPKI(publicKey),
    };
    return new TokenAuthority(privateKey, publicKey, kid, info, store, registry);
  }

  /** Issues a token for an existing service account (what POST .../serviceaccounts/<name>/token does). */
  async issue(
    namespace: string,
    serviceAccount: string,
    options: IssueOptions = {},
  ): Promise<{ token: string; expiresAt: Date }> {
    const sa = this.store.mustGet(this.registry.find('', 'v1', 'serviceaccounts')!, namespace, serviceAccount);
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expirationSeconds ?? 3600;
    const claims: KubernetesClaims = {
      namespace,
      serviceaccount: { name: serviceAccount, uid: String((sa.metadata as { uid: string }).uid) },
    };
    if (options.boundPod) claims.pod = options.boundPod;
    const token = await new SignJWT({ 'kubernetes.io': claims as unknown as Record<string, unknown> })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid })
      .setIssuer(this.info.issuer)
      .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
      .setAudience(options.audiences && options.audiences.length > 0 ? options.audiences : this.info.apiAudiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresAt: new Date((now + expiresIn) * 1000) };
  }

  /** The TokenRequest subresource. */
  async tokenRequest(namespace: string, serviceAccount: string, body: Obj): Promise<Obj> {
    const spec = (body.spec ?? {}) as {
      audiences?: string[];
      expirationSeconds?: number;
      boundObjectRef?: { kind?: string; name?: string; uid?: string };
    };
    const expirationSeconds = spec.expirationSeconds ?? 3600;
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) {
      throw invalidError('TokenRequest', 'authentication.k8s.io', serviceAccount, [
        cause.invalid('spec.expirationSeconds', expirationSeconds, 'may not specify a duration less than 10 minutes'),
      ]);
    }
    let boundPod: IssueOptions['boundPod'];
    if (spec.boundObjectRef?.kind === 'Pod' && spec.boundObjectRef.name) {
      const pod = this.store.mustGet(this.registry.find('', 'v1', 'pods')!, namespace, spec.boundObjectRef.name);
      boundPod = { name: spec.boundObjectRef.name, uid: String((pod.metadata as { uid: string }).uid) };
    }
    const { token, expiresAt } = await this.issue(namespace, serviceAccount, {
      audiences: spec.audiences,
      expirationSeconds,
      boundPod,
    });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: serviceAccount, namespace, creationTimestamp: null },
      spec: {
        audiences: spec.audiences ?? this.info.apiAudiences,
        expirationSeconds,
        boundObjectRef: spec.boundObjectRef ?? null,
      },
      status: { token, expirationTimestamp: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
  }

  /** Verifies a token this double issued; null when it is not valid (for any reason: the caller says why, generically). */
  async verify(
    token: string,
    audiences?: string[],
  ): Promise<{
    username: string;
    uid: string;
    namespace: string;
    groups: string[];
    extra: Record<string, string[]>;
    audiences: string[];
  } | null> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, { issuer: this.info.issuer, algorithms: ['RS256'] }));
    } catch {
      return null;
    }
    const wanted = audiences && audiences.length > 0 ? audiences : this.info.apiAudiences;
    const tokenAudiences = Array.isArray(payload.aud) ? (payload.aud as string[]) : [String(payload.aud)];
    const matched = wanted.filter((a) => tokenAudiences.includes(a));
    if (matched.length === 0) return null;
    const claims = payload['kubernetes.io'] as KubernetesClaims | undefined;
    if (!claims?.serviceaccount) return null;
    const sa = this.store.get(
      this.registry.find('', 'v1', 'serviceaccounts')!,
      claims.namespace,
      claims.serviceaccount.name,
    );
    if (!sa || (sa.metadata as { uid?: string }).uid !== claims.serviceaccount.uid) return null;
    const extra: Record<string, string[]> = {
      'authentication.kubernetes.io/credential-id': [`JTI=${String(payload.jti)}`],
    };
    if (claims.pod) {
      const pod = this.store.get(this.registry.find('', 'v1', 'pods')!, claims.namespace, claims.pod.name);
      if (!pod || (pod.metadata as { uid?: string }).uid !== claims.pod.uid) return null;
      extra['authentication.kubernetes.io/pod-name'] = [claims.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [claims.pod.uid];
    }
    return {
      username: `system:serviceaccount:${claims.namespace}:${claims.serviceaccount.name}`,
      uid: claims.serviceaccount.uid,
      namespace: claims.namespace,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${claims.namespace}`, 'system:authenticated'],
      extra,
      audiences: matched,
    };
  }

  /** The TokenReview API. */
  async review(body: Obj): Promise<Obj> {
    const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
    const user =
      typeof spec.token === 'string' && spec.token !== '' ? await this.verify(spec.token, spec.audiences) : null;
    const status = user
      ? {
          authenticated: true,
          user: { username: user.username, uid: user.uid, groups: user.groups, extra: user.extra },
          audiences: user.audiences,
        }
      : { authenticated: false, user: {}, error: '[invalid bearer token, service account token is not valid]' };
    return {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { ...(spec.audiences ? { audiences: spec.audiences } : {}), token: spec.token },
      status,
    };
  }
}
