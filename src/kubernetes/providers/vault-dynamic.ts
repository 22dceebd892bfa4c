/**
 * Dynamic credentials from a Vault-compatible store: read (or write) a credential path such as `database/creds/app`,
 * and renew or revoke its lease through `sys/leases/*` (src/client/leases.ts). Built on the Vault provider's own
 * authenticated call, so logins, re-logins and error mapping are the store's (StoreUnavailableError when unreachable).
 */
import {
  ApiError,
  leaseOf,
  renewLease,
  revokeLease,
  type LeaseCaller,
  type Method,
  type Response,
} from '../../client/index.js';
import { StrongroomError } from '../../shared/errors.js';
import { STATIC_CREDS_PATH } from '../api/generator.js';
import { LeaseGoneError, type DynamicSecretsClient, type GenerateRequest, type GeneratedCredential } from '../types.js';
import { encodeValue } from './values.js';

/** The provider's authenticated call: maps 403, 5xx and "no answer" already; other ApiErrors pass through. */
export type VaultCall = (
  method: Method,
  path: string,
  options: { query?: Record<string, string>; body?: unknown },
) => Promise<Response>;

/**
 * Vault answers 400 also when the lease exists but its engine could not end or extend the credential ("failed to
 * revoke entry: ...", "failed to renew entry: ..."), e.g. while the database is unreachable: the credential is
 * alive, so this is a failure to retry, never a lease that is gone.
 */
const engineFailed = (err: unknown) =>
  err instanceof ApiError && err.errors.some((e) => /^failed to (revoke|renew) entry/i.test(e));

/** A lease the store no longer knows: 404, or Vault's 400 ("invalid lease", "lease not found", "lease expired"...). */
const leaseGone = (err: unknown) =>
  err instanceof ApiError && (err.status === 404 || (err.status === 400 && !engineFailed(err)));

export function createVaultDynamic(call: VaultCall, count: (operation: string) => void): DynamicSecretsClient {
  const caller: LeaseCaller = {
    request: (method, path, options = {}) =>
      call(method, path, {
        ...(options.body !== undefined ? { body: options.body } : {}),
      }),
  };

  return {
    async generate(request: GenerateRequest): Promise<GeneratedCredential> {
      count('generate');
      const params = { ...request.parameters };
      // A two-account static role hands out a lease only when asked to hold the account for us.
      if (request.method === 'GET' && STATIC_CREDS_PATH.test(request.path) && params.hold === undefined)
        params.hold = 'true';
      let res: Response;
      try {
        res =
          request.method === 'GET'
            ? await call('GET', request.path, Object.keys(params).length ? { query: params } : {})
            : await call(request.method, request.path, { body: params });
      } catch (err) {
        if (err instanceof ApiError)
          throw new StrongroomError('invalid', `${request.method} /v1/${request.path} failed: ${describe(err)}`);
        throw err;
      }
      const body = (res.body ?? {}) as Record<string, unknown>;
      const source =
        request.resultType === 'Raw' ? body : request.resultType === 'Auth' ? body.auth : (body.data as unknown);
      if (source === null || typeof source !== 'object' || Array.isArray(source))
        throw new StrongroomError(
          'invalid',
          `${request.method} /v1/${request.path} answered without ${request.resultType === 'Auth' ? 'an auth' : 'a data'} block`,
        );
      const data: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
        if (v === null || v === undefined) continue;
        data[k] = encodeValue(v);
      }
      const lease = leaseOf(body);
      const ttl = (body.data as { ttl?: unknown } | undefined)?.ttl;
      return { data, ...(lease ? { lease } : {}), ...(typeof ttl === 'number' && ttl > 0 ? { ttl } : {}) };
    },

    async renew(leaseId, increment) {
      count('renew');
      try {
        const renewed = await renewLease(caller, leaseId, increment);
        return { leaseDuration: renewed.leaseDuration, renewable: renewed.renewable };
      } catch (err) {
        if (leaseGone(err)) throw new LeaseGoneError(`lease ${leaseId} is gone: ${describe(err as ApiError)}`);
        throw err;
      }
    },

    async revoke(leaseId) {
      count('revoke');
      try {
        await revokeLease(caller, leaseId);
      } catch (err) {
        if (!leaseGone(err)) throw err;
      }
    },
  };
}

function describe(err: ApiError): string {
  return err.errors.length > 0 ? err.errors.join('; ').slice(0, 300) : `HTTP ${err.status}`;
}
