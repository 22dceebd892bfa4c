/**
 * Vault's lease calls (`sys/leases/renew`, `revoke`, `lookup`) and the lease envelope of a dynamic secret's answer
 * (`lease_id`, `lease_duration`, `renewable`). Lease ids are not secret (Vault prints them); nothing here handles the
 * credential itself.
 *
 *   const lease = leaseOf(await client.read('database/creds/app'));
 *   const renewed = await renewLease(client, lease.leaseId, 3600);
 *   await revokeLease(client, lease.leaseId);
 */
import type { ClientRequestOptions, Client } from './index.js';

/** The envelope fields of a leased answer. */
export interface LeaseEnvelope {
  leaseId: string;
  /** Seconds. */
  leaseDuration: number;
  renewable: boolean;
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
} as const;

/** Only the request method of a client: the operator passes its own wrapper, which maps errors and re-logs in. */
export type LeaseCaller = Pick<Client, 'request'>;

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
): Promise<LeaseEnvelope> {
  const body = { lease_id: leaseId, ...(increment !== undefined ? { increment } : {}) };
  const res = await client.request('PUT', LEASE_PATHS.renew, { ...options, body });
  return leaseOf(res.body) ?? { leaseId, leaseDuration: 0, renewable: false };
}

/** Revokes a lease now (the credential is destroyed by its engine). Vault answers 204. */
export async function revokeLease(
  client: LeaseCaller,
  leaseId: string,
  options: ClientRequestOptions = {},
): Promise<void> {
  await client.request('PUT', LEASE_PATHS.revoke, { ...options, body: { lease_id: leaseId } });
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
