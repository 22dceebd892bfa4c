/**
 * Vault's lease calls (`sys/leases/renew`, `revoke`, `revoke-prefix`, `revoke-force`, `lookup`) and the lease envelope of a dynamic secret's answer
 * (`lease_id`, `lease_duration`, `renewable`). Lease ids are not secret (Vault prints them); nothing here handles the
 * credential itself.
 *
 *   const lease = leaseOf(await client.read('database/creds/app'));
 *   const renewed = await renewLease(client, lease.leaseId, 3600);
 *   await revokeLease(client, lease.leaseId);
 */
import { StrongroomError } from '../shared/errors.js';
import type { ClientRequestOptions } from './index.js';
import type { Method, Response } from './transport.js';

/** The envelope fields of a leased answer. */
export interface LeaseEnvelope {
  leaseId: string;
  /** Seconds. */
  leaseDuration: number;
  renewable: boolean;
}

/** A renewal's answer: the envelope, and the server's warnings (e.g. the increment was capped at the max TTL). */
export interface RenewedLease extends LeaseEnvelope {
  warnings?: string[];
}

/** sys/leases/lookup's answer. Times as the server wrote them (RFC 3339); `expireTime` null for a lease without one. */
export interface LeaseLookup {
  id: string;
  issueTime: string;
  expireTime: string | null;
  lastRenewal: string | null;
  renewable: boolean;
  /** Seconds left. */
  ttl: number;
}

export const LEASE_PATHS = {
  renew: 'sys/leases/renew',
  revoke: 'sys/leases/revoke',
  lookup: 'sys/leases/lookup',
  revokePrefix: 'sys/leases/revoke-prefix',
  revokeForce: 'sys/leases/revoke-force',
} as const;

/**
 * Only a request method: the operator passes its own wrapper (which maps errors and re-logs in), the CLI its
 * connection's (which turns failures into one-line errors). Only the answer's body is read.
 */
export interface LeaseCaller {
  request(method: Method, path: string, options?: ClientRequestOptions): Promise<Pick<Response, 'body'>>;
}

/**
 * `sync` as Vault's revoke endpoints take it: true (the server's default when absent) answers after the engine
 * destroyed the credential; false queues the revocation and answers at once.
 */
export interface RevokeOptions extends ClientRequestOptions {
  sync?: boolean;
}

/** The lease of an answer; undefined when it carries none (`lease_id` absent or ''). */
export function leaseOf(body: unknown): LeaseEnvelope | undefined {
  const b = body as { lease_id?: unknown; lease_duration?: unknown; renewable?: unknown } | undefined;
  if (typeof b?.lease_id !== 'string' || b.lease_id === '') return undefined;
  return {
    leaseId: b.lease_id,
    leaseDuration: typeof b.lease_duration === 'number' ? b.lease_duration : 0,
    renewable: b.renewable === true,
  };
}

/**
 * Extends a lease by `increment` seconds from now (the server caps it at the lease's max TTL, and answers with the
 * duration it granted). Without an increment the server applies its default.
 */
export async function renewLease(
  client: LeaseCaller,
  leaseId: string,
  increment?: number,
  options: ClientRequestOptions = {},
): Promise<RenewedLease> {
  const body = { lease_id: leaseId, ...(increment !== undefined ? { increment } : {}) };
  const res = await client.request('PUT', LEASE_PATHS.renew, { ...options, body });
  const lease = leaseOf(res.body) ?? { leaseId, leaseDuration: 0, renewable: false };
  const warnings = (res.body as { warnings?: unknown } | undefined)?.warnings;
  const texts = Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === 'string') : [];
  return texts.length > 0 ? { ...lease, warnings: texts } : lease;
}

/** Revokes a lease (the credential is destroyed by its engine): now, or queued with `sync: false`. Vault answers 204. */
export async function revokeLease(client: LeaseCaller, leaseId: string, options: RevokeOptions = {}): Promise<void> {
  const { sync, ...rest } = options;
  await client.request('PUT', LEASE_PATHS.revoke, { ...rest, body: { lease_id: leaseId, ...syncOf(sync) } });
}

/**
 * Revokes every lease whose id starts with `prefix` (e.g. `database/creds/app`); needs sudo on the path. The
 * prefix goes in the path, as Vault has it.
 */
export async function revokeLeasePrefix(
  client: LeaseCaller,
  prefix: string,
  options: RevokeOptions = {},
): Promise<void> {
  const { sync, ...rest } = options;
  await client.request('PUT', `${LEASE_PATHS.revokePrefix}/${prefixPath(prefix)}`, { ...rest, body: syncOf(sync) });
}

/**
 * Forgets every lease under `prefix` even when its engine cannot revoke the credential (recovery after an engine
 * is gone: the credentials may outlive their records). Needs sudo; always synchronous.
 */
export async function revokeLeaseForce(
  client: LeaseCaller,
  prefix: string,
  options: ClientRequestOptions = {},
): Promise<void> {
  await client.request('PUT', `${LEASE_PATHS.revokeForce}/${prefixPath(prefix)}`, { ...options, body: {} });
}

const syncOf = (sync: boolean | undefined) => (sync === undefined ? {} : { sync });

/** The server matches `.+` after the endpoint: an empty prefix would revoke nothing and answer 404, so refuse it. */
function prefixPath(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '');
  if (trimmed === '') throw new StrongroomError('invalid', 'a lease prefix is required');
  return trimmed;
}

export async function lookupLease(
  client: LeaseCaller,
  leaseId: string,
  options: ClientRequestOptions = {},
): Promise<LeaseLookup> {
  const res = await client.request('PUT', LEASE_PATHS.lookup, { ...options, body: { lease_id: leaseId } });
  const d = (res.body?.data ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  return {
    id: typeof d.id === 'string' ? d.id : leaseId,
    issueTime: typeof d.issue_time === 'string' ? d.issue_time : '',
    expireTime: str(d.expire_time),
    lastRenewal: str(d.last_renewal),
    renewable: d.renewable === true,
    ttl: typeof d.ttl === 'number' ? d.ttl : 0,
  };
}
