import { defineSecretsEngine, type SecretsEngineModule } from '../../src/logical/module.js';
import type { ActiveLease, LeaseRegistrar } from '../../src/leases/types.js';
import { StrongroomError } from '../../src/shared/errors.js';

/**
 * A test-only secrets engine that issues leased "credentials" (`<mount>/creds/<name>`, read) and records every
 * revoke and renew its hooks receive. `failRevoke`/`failRenew` make the hooks throw (as a database that is down
 * would) until cleared; `revokeDelayMs` makes each revocation take that long.
 */
export interface LeaseProbe {
  revoked: string[];
  renewed: Array<{ id: string; expireTime: Date; internal: Record<string, unknown> }>;
  /** Each revoke hook's ActiveLease, in order. */
  revokedLeases: ActiveLease[];
  failRevoke: boolean;
  failRenew: boolean;
  revokeDelayMs: number;
  leases: LeaseRegistrar | null;
}

export function createLeaseProbe(): LeaseProbe {
  return {
    revoked: [],
    renewed: [],
    revokedLeases: [],
    failRevoke: false,
    failRenew: false,
    revokeDelayMs: 0,
    leases: null,
  };
}

export function leaseTestEngine(probe: LeaseProbe, type = 'leasetest'): SecretsEngineModule<LeaseProbe> {
  return defineSecretsEngine<LeaseProbe>({
    type,
    migrations: {},
    defaultOptions: {},
    createService(core) {
      probe.leases = core.leases;
      return probe;
    },
    routes: (service) => ({
      mountType: type,
      paths: [
        {
          pattern: 'creds/(?<name>.+)',
          operations: {
            read: async (ctx) => {
              const ttl = Number(ctx.query.ttl ?? 60);
              const maxTtl = Number(ctx.query.max_ttl ?? 3600);
              const lease = await service.leases!.create({
                path: `${ctx.mount!.path}creds/${ctx.params.name}`,
                mount: { uuid: ctx.mount!.uuid, path: ctx.mount!.path, type },
                internal: { username: `user-${ctx.params.name}` },
                ttl,
                maxTtl,
                renewable: ctx.query.renewable !== 'false',
                tokenAccessor: ctx.token?.accessor ?? null,
              });
              return { data: { username: `user-${ctx.params.name}`, password: 'not-a-real-password' }, lease };
            },
          },
        },
      ],
    }),
    leases: {
      async revoke(service, lease) {
        if (service.revokeDelayMs > 0) await new Promise((r) => setTimeout(r, service.revokeDelayMs));
        if (service.failRevoke) throw new StrongroomError('unavailable', 'test engine: backend is down');
        service.revoked.push(lease.id);
        service.revokedLeases.push(lease);
      },
      async renew(service, lease, expireTime) {
        if (service.failRenew) throw new StrongroomError('unavailable', 'test engine: backend is down');
        service.renewed.push({ id: lease.id, expireTime, internal: lease.internal });
      },
    },
  });
}
