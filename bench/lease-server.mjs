// A real `strongroom server` process (dist/) with one extra secrets engine, `benchlease`, that issues leased
// credentials without an external database: GET <mount>/creds/<name>?ttl=N registers a lease through the lease
// service as a dynamic-secrets engine does, and its revoke hook records when each lease was revoked (after a short
// pause, as a DROP ROLE on a database would take). GET <mount>/stats answers the revocation lags. Used by
// bench/leases.mjs while the database engine is not on this branch; everything else is the production server.
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = new URL('..', import.meta.url);
const { REGISTRY } = await import(new URL('dist/src/server/modules.js', ROOT).href);
const { main } = await import(new URL('dist/src/cli/main.js', ROOT).href);

const REVOKE_PAUSE_MS = Number(process.env.BENCH_REVOKE_PAUSE_MS ?? '2');
const lags = [];
const seen = new Set();
let duplicates = 0;

const benchEngine = {
  kind: 'secrets',
  type: 'benchlease',
  migrations: {},
  defaultOptions: {},
  createService: (core) => ({ leases: core.leases }),
  routes: (service) => ({
    mountType: 'benchlease',
    paths: [
      {
        pattern: 'creds/(?<name>.+)',
        operations: {
          read: async (ctx) => {
            const ttl = Number(ctx.query.ttl ?? 60);
            const lease = await service.leases.create({
              path: `${ctx.mount.path}creds/${ctx.params.name}`,
              mount: { uuid: ctx.mount.uuid, path: ctx.mount.path, type: 'benchlease' },
              internal: { username: `bench-${ctx.params.name}` },
              ttl,
              maxTtl: ttl * 2,
              renewable: true,
              tokenAccessor: ctx.token?.accessor ?? null,
            });
            return { data: { username: `bench-${ctx.params.name}` }, lease };
          },
        },
      },
      {
        pattern: 'stats',
        operations: {
          read: async () => ({ data: { revoked: lags.length, duplicates, lags_ms: lags } }),
        },
      },
    ],
  }),
  leases: {
    async revoke(_service, lease) {
      if (REVOKE_PAUSE_MS > 0) await sleep(REVOKE_PAUSE_MS);
      if (seen.has(lease.id)) duplicates++;
      seen.add(lease.id);
      lags.push(Date.now() - lease.expireTime.getTime());
    },
  },
};
REGISTRY.secrets = [...REGISTRY.secrets, benchEngine];

await main(['node', 'strongroom', 'server', ...process.argv.slice(2)]);
