import { definePath, type BackendPath } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import { rfc3339 } from '../../logical/time.js';
import type { LeaseService } from '../../leases/types.js';
import type { HttpDeps } from '../deps.js';

const LEASE_ID = { lease_id: f.string('The lease to act on (may also be given in the URL).') };
const SYNC = { sync: f.bool('Revoke before answering (default true); false queues the revocation.') };

/**
 * sys/leases/* (https://developer.hashicorp.com/vault/api-docs/system/leases) and Vault's legacy aliases sys/renew,
 * sys/revoke, sys/revoke-prefix, sys/revoke-force. Thin: the lease service decides; errors carry Vault's texts.
 */
export function leasePaths(deps: Pick<HttpDeps, 'leases'>): BackendPath[] {
  const leases: LeaseService = deps.leases;
  const idOf = (ctx: { params: Record<string, string>; input: { lease_id?: string | undefined } }) =>
    // Vault: the id in the URL wins over the body's.
    ctx.params.url_lease_id || ctx.input.lease_id || '';

  const renew = (name: string, pattern: string) =>
    definePath({
      name,
      pattern,
      synopsis: 'Renews a lease, asking to extend it by `increment` (default: its original ttl), up to its max ttl.',
      fields: { ...LEASE_ID, increment: f.duration('Seconds (or a duration) to extend the lease by.') },
      operations: {
        update: async (ctx) => {
          const renewed = await leases.renew(idOf(ctx), ctx.input.increment);
          return {
            lease: { leaseId: renewed.leaseId, ttl: renewed.ttl, renewable: renewed.renewable },
            ...(renewed.warnings.length > 0 ? { warnings: renewed.warnings } : {}),
          };
        },
      },
    });

  const revoke = (name: string, pattern: string) =>
    definePath({
      name,
      pattern,
      synopsis: "Revokes a lease: ends its credential through its engine, then forgets it (Vault's default sync).",
      fields: { ...LEASE_ID, ...SYNC },
      operations: {
        update: async (ctx) => {
          const id = idOf(ctx);
          if (ctx.input.sync === false) await leases.revokeLater(id);
          else await leases.revoke(id);
        },
      },
    });

  const revokePrefix = (name: string, pattern: string) =>
    definePath({
      name,
      pattern,
      sudo: true,
      synopsis: 'Revokes every lease whose id starts with the prefix.',
      fields: SYNC,
      operations: {
        update: async (ctx) => {
          await leases.revokePrefix(ctx.params.prefix ?? '', { sync: ctx.input.sync !== false });
        },
      },
    });

  const revokeForce = (name: string, pattern: string) =>
    definePath({
      name,
      pattern,
      sudo: true,
      synopsis: 'Removes every lease under the prefix even when its engine cannot revoke the credential (recovery).',
      operations: {
        update: async (ctx) => void (await leases.revokeForce(ctx.params.prefix ?? '')),
      },
    });

  return [
    definePath({
      name: 'sys.leases.lookup',
      pattern: 'leases/lookup',
      synopsis: "Shows a lease's times: issue, expiry, last renewal, ttl, renewable.",
      fields: LEASE_ID,
      operations: {
        update: async (ctx) => {
          const lease = await leases.lookup(ctx.input.lease_id ?? '');
          return {
            data: {
              id: lease.id,
              issue_time: rfc3339(lease.issueTime.getTime()),
              expire_time: rfc3339(lease.expireTime.getTime()),
              last_renewal: lease.lastRenewal ? rfc3339(lease.lastRenewal.getTime()) : null,
              renewable: lease.renewable,
              ttl: lease.ttl,
            },
            auditClearData: ['id', 'issue_time', 'expire_time', 'last_renewal', 'renewable', 'ttl'],
          };
        },
      },
    }),
    {
      name: 'sys.leases.list',
      pattern: 'leases/lookup/(?<prefix>.*)',
      sudo: true,
      synopsis: 'Lists lease ids (and sub-prefixes) under a prefix.',
      operations: {
        list: async (ctx) => {
          const raw = ctx.params.prefix ?? '';
          const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
          return { data: { keys: await leases.list(prefix) } };
        },
      },
    },
    renew('sys.leases.renew', 'leases/renew(?:/(?<url_lease_id>.+))?'),
    revoke('sys.leases.revoke', 'leases/revoke(?:/(?<url_lease_id>.+))?'),
    revokePrefix('sys.leases.revoke-prefix', 'leases/revoke-prefix/(?<prefix>.+)'),
    revokeForce('sys.leases.revoke-force', 'leases/revoke-force/(?<prefix>.+)'),
    definePath({
      name: 'sys.leases.tidy',
      pattern: 'leases/tidy',
      synopsis: 'Removes lease records whose mount no longer exists.',
      operations: { update: async () => void (await leases.tidy()) },
    }),
    // Vault's legacy paths, still served by Vault and used by older clients.
    renew('sys.renew', 'renew(?:/(?<url_lease_id>.+))?'),
    revoke('sys.revoke', 'revoke(?:/(?<url_lease_id>.+))?'),
    revokePrefix('sys.revoke-prefix', 'revoke-prefix/(?<prefix>.+)'),
    revokeForce('sys.revoke-force', 'revoke-force/(?<prefix>.+)'),
  ];
}
