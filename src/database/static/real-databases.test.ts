import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mysqlAdmin, mysqlAdminQuery, mysqlCanLogin, mysqlSkipReason } from '../../../test/support/mysql.js';
import { pgAdminQuery, pgCanLogin } from '../../../test/support/pg-login.js';
import { createTestDatabase, postgresAdminUrl, postgresSkipReason } from '../../../test/support/postgres.js';
import { createTestBarrier } from '../../kv/testing.js';
import { openStorage } from '../../server/open-storage.js';
import type { Storage } from '../../storage/database.js';
import { mysqlPlugin } from '../plugins/mysql.js';
import { postgresqlPlugin } from '../plugins/postgresql.js';
import type { ConnectionSettings, DatabaseConnection, DatabasePlugin } from '../plugins/types.js';
import { createStaticRolesService, type StaticRolesService } from './service.js';
import { ensureStaticTables, recordingLeases, recordingSystemAudit, testMount, testPasswords } from './testing.js';
import type { MountRef, StaticConnections } from './types.js';

/**
 * Static roles against the machine's real PostgreSQL and MariaDB, with the store on PostgreSQL. Accounts are created
 * here as the DBA would (unique names per run) and dropped afterwards.
 */
const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;

interface Target {
  name: string;
  skip: string | undefined;
  plugin: DatabasePlugin;
  settings(): ConnectionSettings;
  createUser(user: string, password: string): Promise<void>;
  dropUser(user: string): Promise<void>;
  canLogin(user: string, password: string): Promise<boolean>;
}

const common = { maxOpenConnections: 2, maxIdleConnections: 0, maxConnectionLifetime: 0 };

const targets: Target[] = [
  {
    name: 'postgresql',
    skip: postgresSkipReason,
    plugin: postgresqlPlugin,
    settings: () => {
      const url = new URL(postgresAdminUrl!);
      return {
        connectionUrl: `postgresql://{{username}}:{{password}}@${url.host}${url.pathname}`,
        username: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password) || 'unused-on-trust',
        ...common,
      };
    },
    createUser: async (user, password) =>
      void (await pgAdminQuery(`CREATE ROLE "${user}" WITH LOGIN PASSWORD '${password}'`)),
    dropUser: async (user) => void (await pgAdminQuery(`DROP ROLE IF EXISTS "${user}"`)),
    canLogin: pgCanLogin,
  },
  {
    name: 'mariadb',
    skip: mysqlSkipReason,
    plugin: mysqlPlugin,
    settings: () => ({
      connectionUrl: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
      username: mysqlAdmin!.user,
      password: mysqlAdmin!.password,
      ...common,
    }),
    createUser: async (user, password) => {
      await mysqlAdminQuery(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      await mysqlAdminQuery(`GRANT SELECT ON test.* TO '${user}'@'%'`);
    },
    dropUser: async (user) => void (await mysqlAdminQuery(`DROP USER IF EXISTS '${user}'@'%'`)),
    canLogin: mysqlCanLogin,
  },
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(postgresSkipReason !== undefined)('static roles on real databases', () => {
  let storage: Storage;
  let storeUrl: string;
  let dropStore: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase();
    dropStore = db.drop;
    storeUrl = db.url;
    storage = await openStorage({ engine: 'postgres', url: db.url, poolSize: 5 });
    await ensureStaticTables(storage);
  });
  afterAll(async () => {
    await storage?.close();
    await dropStore?.();
  });

  for (const target of targets) {
    describe.skipIf(target.skip !== undefined)(target.name, () => {
      let connection: DatabaseConnection;
      const users: string[] = [];
      let clock: number | undefined;
      let mount: MountRef;
      let statics: StaticRolesService;
      let leases: ReturnType<typeof recordingLeases>;
      const barrier = createTestBarrier();
      const connections: StaticConnections = {
        acquire: async () => ({ connection, plugin: target.plugin }),
      };
      const build = (s: Storage = storage, processId?: string) =>
        createStaticRolesService({
          storage: s,
          barrier,
          passwords: testPasswords,
          connections,
          systemAudit: recordingSystemAudit(),
          leases,
          now: () => clock ?? Date.now(),
          ...(processId ? { processId } : {}),
        });

      /** A DBA-made account with a password the store does not know. */
      async function account(suffix: string): Promise<{ user: string; password: string }> {
        const user = `sr_st_${tag}_${suffix}`.slice(0, 32);
        const password = `Dba-${randomBytes(8).toString('hex')}`;
        await target.createUser(user, password);
        users.push(user);
        return { user, password };
      }

      beforeAll(() => {
        connection = target.plugin.open(target.settings());
      });
      afterAll(async () => {
        await connection?.close();
        for (const user of users) await target.dropUser(user);
      });
      beforeEach(() => {
        clock = undefined;
        mount = testMount();
        leases = recordingLeases();
        statics = build();
      });

      it('creating a role rotates the password; static-creds log in; rotate-role retires the old one', async () => {
        const dba = await account('s1');
        expect(await target.canLogin(dba.user, dba.password)).toBe(true);
        await statics.write(mount, 'app', { db_name: 'db', username: dba.user, rotation_period: 3600 });
        expect(await target.canLogin(dba.user, dba.password)).toBe(false);
        const first = await statics.credential(mount, 'app');
        expect(first.username).toBe(dba.user);
        expect(await target.canLogin(first.username, first.password)).toBe(true);

        await statics.rotateNow(mount, 'app');
        const second = await statics.credential(mount, 'app');
        expect(second.password).not.toBe(first.password);
        expect(await target.canLogin(dba.user, second.password)).toBe(true);
        expect(await target.canLogin(dba.user, first.password)).toBe(false);
      });

      it('the job rotates a due role on time (injected clock)', async () => {
        const dba = await account('s2');
        clock = Date.now();
        const t0 = clock;
        await statics.write(mount, 'app', { db_name: 'db', username: dba.user, rotation_period: 5 });
        const first = await statics.credential(mount, 'app');
        clock = t0 + 4_999;
        await statics.runDue();
        expect((await statics.credential(mount, 'app')).password).toBe(first.password);
        clock = t0 + 5_000;
        await statics.runDue();
        const second = await statics.credential(mount, 'app');
        expect(second.role.state.generation).toBe(2);
        expect(await target.canLogin(dba.user, second.password)).toBe(true);
        expect(await target.canLogin(dba.user, first.password)).toBe(false);
      });

      it('two services on one PostgreSQL store rotate a due role once', async () => {
        const dba = await account('s3');
        clock = Date.now();
        const t0 = clock;
        const other = await openStorage({ engine: 'postgres', url: storeUrl, poolSize: 2 });
        try {
          const a = build(storage, 'a');
          const b = build(other, 'b');
          await a.write(mount, 'app', { db_name: 'db', username: dba.user, rotation_period: 5 });
          clock = t0 + 5_000;
          const [ra, rb] = await Promise.all([a.runDue(), b.runDue()]);
          expect(ra.rotated + rb.rotated).toBe(1);
          const cred = await b.credential(mount, 'app');
          expect(cred.role.state.generation).toBe(2);
          expect(await target.canLogin(dba.user, cred.password)).toBe(true);
        } finally {
          await other.close();
        }
      });

      describe('two-account rotation', () => {
        it('a client logging in every 50 ms through three rotations sees zero failures', async () => {
          const blue = await account('b4');
          const green = await account('g4');
          const grace = 1;
          await statics.write(mount, 'app', {
            db_name: 'db',
            username: blue.user,
            alternate_username: green.user,
            rotation_period: 3600,
            grace_period: grace,
          });
          // The consumer re-reads its credential every 300 ms (as a pod re-reading a mounted Secret) and logs in
          // every 50 ms with what it last read.
          let cred = await statics.credential(mount, 'app');
          let stop = false;
          let logins = 0;
          const failures: string[] = [];
          const refresher = (async () => {
            while (!stop) {
              await sleep(300);
              cred = await statics.credential(mount, 'app');
            }
          })();
          const client = (async () => {
            while (!stop) {
              const { username, password, role } = cred;
              if (await target.canLogin(username, password)) logins++;
              else failures.push(`${username} generation ${role.state.generation}`);
              await sleep(50);
            }
          })();
          const retiredPasswords: Array<{ user: string; password: string }> = [];
          for (let rotation = 1; rotation <= 3; rotation++) {
            await sleep(400);
            const before = await statics.credential(mount, 'app');
            await statics.rotateNow(mount, 'app');
            const after = await statics.credential(mount, 'app');
            expect(after.username).not.toBe(before.username);
            expect(after.retiringUsername).toBe(before.username);
            // Not before the grace period: the previous account still works.
            await statics.runDue();
            expect(await target.canLogin(before.username, before.password)).toBe(true);
            await sleep(grace * 1000 + 100);
            await statics.runDue();
            retiredPasswords.push({ user: before.username, password: before.password });
            expect(await target.canLogin(before.username, before.password)).toBe(false);
          }
          await sleep(400);
          stop = true;
          await Promise.all([refresher, client]);
          expect(failures).toEqual([]);
          expect(logins).toBeGreaterThan(40);
          expect((await statics.credential(mount, 'app')).role.state.generation).toBe(4);
          for (const old of retiredPasswords) expect(await target.canLogin(old.user, old.password)).toBe(false);
        });

        it('a hold delays the retirement until its lease is revoked', async () => {
          const blue = await account('b5');
          const green = await account('g5');
          clock = Date.now();
          const t0 = clock;
          await statics.write(mount, 'app', {
            db_name: 'db',
            username: blue.user,
            alternate_username: green.user,
            rotation_period: 60,
            grace_period: 10,
          });
          const role = (await statics.read(mount, 'app'))!;
          const held = await statics.credential(mount, 'app');
          const lease = await statics.hold(role, held.role.state.generation, null);
          expect(lease.ttl).toBe(60);
          clock = t0 + 60_000;
          await statics.runDue();
          const next = await statics.credential(mount, 'app');
          expect(next.username).toBe(green.user);
          expect(next.retiringUsername).toBe(blue.user);
          // The operator renews its hold while its rollout runs; past the grace period the account stays.
          const recorded = leases.created.find((l) => l.leaseId === lease.leaseId)!;
          expect(recorded.internal).toMatchObject({ kind: 'static-hold', role: 'app', generation: 1 });
          const active = {
            id: lease.leaseId,
            mount,
            internal: recorded.internal,
            issueTime: new Date(t0),
            expireTime: new Date(t0 + 10_000),
            maxExpireTime: new Date(t0 + 3_600_000),
          };
          await statics.leaseHooks.renew(active, new Date(t0 + 300_000));
          clock = t0 + 120_000;
          await statics.runDue();
          expect(await target.canLogin(blue.user, held.password)).toBe(true);
          await statics.leaseHooks.revoke(active);
          await statics.runDue();
          expect(await target.canLogin(blue.user, held.password)).toBe(false);
          expect(await target.canLogin(green.user, next.password)).toBe(true);
        });
      });
    });
  }
});
