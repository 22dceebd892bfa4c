import { randomBytes, randomUUID } from 'node:crypto';
import type { IssuedLease, LeaseRegistrar, NewLease } from '../../leases/types.js';
import type { SystemAudit } from '../../logical/module.js';
import type { PasswordGenerator } from '../../passwords/types.js';
import { invalid } from '../../shared/errors.js';
import type { Storage } from '../../storage/database.js';
import type { DatabaseConnection, StatementValues } from '../plugins/types.js';
import { staticRoleMigrations } from './migrations.js';
import type { MountRef, StaticConnection, StaticConnections } from './types.js';

/** Test helpers for static roles (not used by the server). */

/** Creates the static-role tables unless the registry's migrations already did (once the engine lists them). */
export async function ensureStaticTables(storage: Storage): Promise<void> {
  const tables = await storage.db.introspection.getTables();
  if (tables.some((t) => t.name === 'database_static_roles')) return;
  for (const migration of Object.values(staticRoleMigrations)) await migration.up(storage.db);
}

export function testMount(path = 'database/'): MountRef {
  return { uuid: randomUUID(), path, type: 'database' };
}

export interface AuditRecord {
  job: string;
  path: string;
  data?: Record<string, unknown>;
  outcome: 'ok' | 'error';
}

export function recordingSystemAudit(): SystemAudit & { entries: AuditRecord[] } {
  const entries: AuditRecord[] = [];
  return {
    entries,
    async run(entry, action) {
      try {
        const out = await action();
        entries.push({ job: entry.job, path: entry.path, data: entry.data, outcome: 'ok' });
        return out;
      } catch (err) {
        entries.push({ job: entry.job, path: entry.path, data: entry.data, outcome: 'error' });
        throw err;
      }
    },
  };
}

export function recordingLeases(): LeaseRegistrar & { created: Array<NewLease & { leaseId: string }> } {
  const created: Array<NewLease & { leaseId: string }> = [];
  return {
    created,
    async create(lease): Promise<IssuedLease> {
      const leaseId = `${lease.path}/${randomUUID()}`;
      created.push({ ...lease, leaseId });
      return { leaseId, ttl: lease.ttl, renewable: lease.renewable };
    },
  };
}

/** Vault's default password shape: 20 characters of letters, digits and '-'. */
export const testPasswords: PasswordGenerator = {
  generate: async () => `A1a-${randomBytes(12).toString('base64url').replace(/[_]/g, 'x')}`.slice(0, 20),
};

/**
 * A database double: accounts and their passwords in memory, so the rotation logic can be tested on both storage
 * engines without a database server. `failNext` makes the next statements throw (a database that is down).
 */
export function fakeDatabase() {
  const passwords = new Map<string, string>();
  const executed: StatementValues[] = [];
  let failures = 0;
  const connection: DatabaseConnection = {
    verify: async () => undefined,
    async execute(_statements, values) {
      if (failures > 0) {
        failures--;
        throw new Error('connection refused');
      }
      executed.push({ name: values.name });
      if (values.password !== undefined) passwords.set(values.name, values.password);
    },
    close: async () => undefined,
  };
  const conn: StaticConnection = {
    connection,
    plugin: {
      name: 'fake-database-plugin',
      defaults: { revocation: [], rotation: ['ALTER'], renew: [], usernameTemplate: '' },
    },
  };
  const connections: StaticConnections = {
    async acquire(_mount, dbName) {
      if (dbName !== 'db') throw invalid(`no database connection configured with name "${dbName}"`);
      return conn;
    },
  };
  return {
    connections,
    executed,
    login: (user: string, password: string) => passwords.get(user) === password,
    passwordOf: (user: string) => passwords.get(user),
    failNext(n = 1) {
      failures = n;
    },
  };
}
