import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { createAppRoleService } from '../auth/approle/service.js';
import type { TokenService } from '../auth/types.js';
import type { LoginService } from '../auth/login.js';
import type { Barrier } from '../crypto/types.js';
import { defineSecretsEngine, type ModuleCore } from '../logical/module.js';
import { compileRoutes } from '../http/pipeline.js';
import { matchPath } from '../http/router.js';
import type { Mount } from '../mounts/types.js';
import { openDatabase } from '../storage/database.js';
import { runMigrations } from '../storage/migrations.js';
import { startModules } from './module-host.js';
import { REGISTRY, migrationsOf, secretsCatalog, type Registry } from './modules.js';

/** A module known only to this test: one table, one path, one job. */
const echoEngine = defineSecretsEngine({
  type: 'echo',
  defaultOptions: { loud: 'no' },
  migrations: {
    '0900_echo_init': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: any) {
        await db.schema
          .createTable('echo_things')
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          .addColumn('id', 'integer', (c: any) => c.primaryKey())
          .execute();
      },
    },
  },
  createService: () => ({ said: [] as string[] }),
  routes: (service, mount) => ({
    mountType: 'echo',
    paths: [
      {
        pattern: 'say/(?<word>\\w+)',
        operations: {
          read: async (ctx) => ({ data: { word: ctx.params.word, mount: mount.path, n: service.said.push('x') } }),
        },
      },
    ],
  }),
  jobs: () => [{ name: 'echo-job', intervalMs: 1000, run: async () => undefined }],
});

describe('the registry drives migrations, routes and jobs', () => {
  const registry: Registry = { secrets: [...REGISTRY.secrets, echoEngine], auth: REGISTRY.auth };

  it("runs a registered module's migrations and serves its routes for its mounts", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sr-registry-')), 'x.db');
    const storage = await openDatabase({ engine: 'sqlite', file }, { migrations: migrationsOf(registry) });
    try {
      await sql`insert into echo_things (id) values (1)`.execute(storage.db);
      // Services that drop key material on seal (transit) subscribe to the barrier when they are built.
      const barrier = { onSeal: () => () => undefined } as unknown as Barrier;
      const core = { storage, barrier, tokens: {} as TokenService, settings: {} } as ModuleCore;
      const onDisable: string[] = [];
      const host = startModules(registry, core, {
        secrets: { onDisable: (t) => void onDisable.push(t), ensureFixed: async () => undefined },
        auth: { onDisable: () => undefined, ensureFixed: async () => undefined },
      });
      expect(host.jobs().map((j) => j.name)).toContain('echo-job');
      const mount = {
        path: 'shout/',
        type: 'echo',
        uuid: 'u-1',
        accessor: 'echo_1',
        description: '',
        options: {},
        createdAt: 0,
      } as Mount;
      const table = compileRoutes({ sys: { paths: [] }, modules: host });
      const backend = table.backendFor(mount, 'secrets');
      expect(backend?.mountType).toBe('echo');
      const match = matchPath(backend!, 'say/hello');
      expect(match?.params.word).toBe('hello');
      // The same mount is served by the same compiled backend; an unknown type by none.
      expect(table.backendFor(mount, 'secrets')).toBe(backend);
      expect(table.backendFor({ ...mount, type: 'nothing' }, 'secrets')).toBeNull();
      // The catalog sys/mounts uses knows the new type and its defaults.
      expect(secretsCatalog(registry.secrets).normalizeOptions('echo', {})).toEqual({ loud: 'no' });
    } finally {
      await storage.close();
    }
  });

  it('refuses a migration name defined twice', () => {
    const clash = defineSecretsEngine({
      ...echoEngine,
      type: 'echo2',
      migrations: { '0100_kv_init': echoEngine.migrations['0900_echo_init']! },
    });
    expect(() => migrationsOf({ secrets: [...REGISTRY.secrets, clash], auth: [] })).toThrow(/defined twice/);
  });
});

describeEachEngine('migration 0240/0241: an old store keeps its approle and kubernetes data', (ctx) => {
  it('mounts approle/ and kubernetes/ when their tables hold data, and the roles keep working there', async () => {
    // A separate schema state: build the pre-0240 schema in this suite's database by running the old list only
    // (without 0060's auth mount table, nor 0070, which adds a column to it and came later).
    const fresh = await freshDatabase(ctx);
    try {
      const old = Object.fromEntries(
        Object.entries(migrationsOf()).filter(([name]) => !/^(0060|0070|0240|0241)_/.test(name)),
      );
      await runMigrations(fresh.db, old);
      await sql`insert into auth_approle_roles (name, role_id, definition, updated_at) values ('legacy', 'rid-1', '{"tokenPolicies":["default"]}', 1)`.execute(
        fresh.db,
      );
      await sql`insert into auth_kubernetes_roles (name, definition, updated_at) values ('web', '{}', 1)`.execute(
        fresh.db,
      );
      await runMigrations(fresh.db, migrationsOf());
      const mounts = await sql<{
        path: string;
        type: string;
        uuid: string;
      }>`select path, type, uuid from auth_mounts order by path`.execute(fresh.db);
      expect(mounts.rows.map((m) => [m.path, m.type])).toEqual([
        ['approle/', 'approle'],
        ['kubernetes/', 'kubernetes'],
        ['token/', 'token'],
      ]);
      const approleMount = mounts.rows.find((m) => m.type === 'approle')!;
      const approle = createAppRoleService({
        storage: fresh,
        logins: {} as LoginService,
        barrier: { isSealed: () => false, deriveKey: () => Buffer.alloc(32) } as unknown as Barrier,
        mount: { uuid: approleMount.uuid, path: approleMount.path, accessor: 'auth_approle_legacy', type: 'approle' },
      });
      expect(await approle.listRoles()).toEqual(['legacy']);
      expect(await approle.readRoleId('legacy')).toBe('rid-1');
    } finally {
      await fresh.close();
    }
  });
});

/** A second, empty database next to the suite's (SQLite file or PostgreSQL database), migrated by the test itself. */
async function freshDatabase(ctx: { engine: string }) {
  if (ctx.engine === 'sqlite') {
    return openDatabase(
      { engine: 'sqlite', file: join(mkdtempSync(join(tmpdir(), 'sr-legacy-')), 'old.db') },
      { migrate: false },
    );
  }
  const { createTestDatabase } = await import('../../test/support/postgres.js');
  const db = await createTestDatabase();
  const storage = await openDatabase({ engine: 'postgres', url: db.url, poolSize: 2 }, { migrate: false });
  return {
    ...storage,
    close: async () => {
      await storage.close();
      await db.drop();
    },
  };
}
