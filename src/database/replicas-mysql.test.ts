import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlAdmin, mysqlAdminQuery, mysqlCanLogin, mysqlSkipReason } from '../../test/support/mysql.js';
import { createTestBarrier } from '../kv/testing.js';
import type { Mount } from '../mounts/types.js';
import { openStorage } from '../server/open-storage.js';
import type { Storage } from '../storage/database.js';
import { createDatabaseService } from './service.js';
import { recordingLeases, testPasswords } from './test-support.js';

/**
 * Two server processes on one store (two services over one SQLite file): a rotate-root on one must not leave the
 * other's pool logging in with the old root password. MariaDB checks passwords on this machine, so a stale pool
 * would fail here.
 */
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_rep_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const mount: Mount = {
  path: 'database/',
  type: 'database',
  uuid: `m-${tag}`,
  accessor: 'database_x',
  description: '',
  options: {},
  createdAt: 0,
};

describe.skipIf(mysqlSkipReason !== undefined)('database engine on two replicas (MariaDB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-db-replicas-'));
  let storageA: Storage;
  let storageB: Storage;

  beforeAll(async () => {
    await mysqlAdminQuery(`CREATE USER '${rootUser}'@'%' IDENTIFIED BY '${rootPassword}'`);
    await mysqlAdminQuery(`GRANT ALL PRIVILEGES ON *.* TO '${rootUser}'@'%' WITH GRANT OPTION`);
    storageA = await openStorage({ engine: 'sqlite', file: join(dir, 'store.db') });
    storageB = await openStorage({ engine: 'sqlite', file: join(dir, 'store.db') });
  });

  afterAll(async () => {
    await storageA?.close();
    await storageB?.close();
    rmSync(dir, { recursive: true, force: true });
    const left = (await mysqlAdminQuery(`select user as user from mysql.user where user like 'v-${tag}-%'`)) as Array<{
      user: string;
    }>;
    for (const { user } of left) await mysqlAdminQuery(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await mysqlAdminQuery(`DROP USER IF EXISTS '${rootUser}'@'%'`).catch(() => undefined);
  });

  it("a replica reopens its pool after another rotated the root password, and revokes the other's users", async () => {
    const barrier = createTestBarrier();
    const leases = recordingLeases();
    const a = createDatabaseService({ storage: storageA, barrier, leases, passwords: testPasswords() });
    const b = createDatabaseService({ storage: storageB, barrier, leases, passwords: testPasswords() });
    try {
      await a.writeConfig(mount, 'my', {
        pluginName: 'mysql-database-plugin',
        connectionUrl: `{{username}}:{{password}}@tcp(${mysqlAdmin!.host}:${mysqlAdmin!.port})/`,
        username: rootUser,
        password: rootPassword,
        allowedRoles: ['*'],
        usernameTemplate: `{{ printf "v-${tag}-%s" (random 8) }}`,
      });
      await a.writeRole(mount, 'app', {
        dbName: 'my',
        creationStatements: [`CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'`],
      });
      const caller = { displayName: 'token', tokenAccessor: null };
      const first = await b.issueCredential(mount, 'app', caller); // B's pool opens with the first root password
      await a.rotateRoot(mount, 'my');
      expect(await mysqlCanLogin(rootUser, rootPassword)).toBe(false);
      // End the root's sessions, so a stale pool in B would have to log in again (with the old password, and fail).
      const sessions = (await mysqlAdminQuery(
        `select id from information_schema.processlist where user = '${rootUser}'`,
      )) as Array<{ id: number }>;
      for (const { id } of sessions) await mysqlAdminQuery(`KILL ${Number(id)}`).catch(() => undefined);

      const second = await b.issueCredential(mount, 'app', caller);
      expect(await mysqlCanLogin(second.username, second.password)).toBe(true);
      await a.revokeLease(leases.active(second.lease.leaseId));
      await b.revokeLease(leases.active(first.lease.leaseId));
      expect(await mysqlCanLogin(first.username, first.password)).toBe(false);
      expect(await mysqlCanLogin(second.username, second.password)).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
