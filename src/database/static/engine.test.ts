import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../../../test/support/pipeline-harness.js';
import { pgAdminQuery, pgCanLogin, pgDropRoles } from '../../../test/support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../../test/support/postgres.js';
import { databaseEngine } from '../module.js';
import { recordingLeases, testPasswords, type RecordingLeases } from '../test-support.js';
import { staticRolesOf } from './engine.js';
import { recordingSystemAudit } from './testing.js';

/**
 * Static roles as the server runs them: the registry's database engine at `database/`, a config written through the
 * API, against the machine's PostgreSQL. Accounts carry this file's tag and are dropped afterwards.
 */
const tag = randomBytes(3).toString('hex');
const rootUser = `sr_sroot_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const accounts = ['one', 'blue', 'green'].map((n) => `sr_se_${tag}_${n}`);
const [single, blue, green] = accounts as [string, string, string];

describe.skipIf(postgresSkipReason !== undefined)('static roles in the database engine (pipeline, PostgreSQL)', () => {
  let h: PipelineHarness;
  let leases: RecordingLeases;
  const audit = recordingSystemAudit();
  const root = () => ({ token: h.rootToken });
  const write = (path: string, body?: unknown) => h.request('POST', path, { ...root(), body });
  const read = async (path: string, query?: Record<string, string>) => {
    const reply = await h.request('GET', path, { ...root(), ...(query ? { query } : {}) });
    return reply as { status: number; body: { data: Record<string, unknown>; lease_id: string; errors?: string[] } };
  };

  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    for (const user of accounts) await pgAdminQuery(`CREATE ROLE "${user}" WITH LOGIN PASSWORD 'Dba-${tag}-pw'`);
    leases = recordingLeases();
    h = await createPipelineHarness({
      core: { leases, passwords: testPasswords(), systemAudit: audit },
      kvMount: false,
    });
    await h.mounts.enable({ path: 'database/', type: 'database' });
    const url = new URL(postgresAdminUrl!);
    const config = await write('database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${url.host}/postgres`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: 'app,pair',
    });
    expect(config.status, JSON.stringify(config.body)).toBe(204);
  });

  afterAll(async () => {
    await h?.close();
    await pgDropRoles({ roles: [...accounts, rootUser] });
  });

  it("refuses a role the config's allowed_roles does not admit, and an unknown config", async () => {
    const other = await write('database/static-roles/other', { db_name: 'pg', username: single, rotation_period: 60 });
    expect(other.status).toBe(400);
    expect(other.body).toEqual({ errors: ['"other" is not an allowed role'] });
    const missing = await write('database/static-roles/app', {
      db_name: 'nope',
      username: single,
      rotation_period: 60,
    });
    expect(missing.status).toBe(400);
    expect(await pgCanLogin(single, `Dba-${tag}-pw`)).toBe(true);
  });

  it('creates a static role that rotates at once; static-creds log in; rotate-role and the job rotate', async () => {
    const created = await write('database/static-roles/app', { db_name: 'pg', username: single, rotation_period: 60 });
    expect(created.status, JSON.stringify(created.body)).toBe(204);
    expect(await pgCanLogin(single, `Dba-${tag}-pw`)).toBe(false);
    const first = await read('database/static-creds/app');
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ username: single, rotation_period: 60, generation: 1 });
    expect(await pgCanLogin(single, first.body.data.password as string)).toBe(true);

    expect((await write('database/rotate-role/app')).status).toBe(204);
    const second = await read('database/static-creds/app');
    expect(second.body.data.generation).toBe(2);
    expect(await pgCanLogin(single, first.body.data.password as string)).toBe(false);
    expect(await pgCanLogin(single, second.body.data.password as string)).toBe(true);

    // The job the module registers: nothing is due yet.
    const service = h.modules.serviceOf(databaseEngine);
    const job = databaseEngine.jobs?.(service).find((j) => j.name === 'database-static-rotation');
    expect(job?.intervalMs).toBe(1000);
    expect(await job?.run()).toBeUndefined();
    const statics = staticRolesOf(service);
    expect((await statics.runDue()).rotated).toBe(0);
    expect(audit.entries).toEqual([]);
  });

  it('two-account: a hold lease, released through the engine lease hook, gates the retirement', async () => {
    const created = await write('database/static-roles/pair', {
      db_name: 'pg',
      username: blue,
      alternate_username: green,
      rotation_period: 3600,
      grace_period: 0,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(204);
    const held = await read('database/static-creds/pair', { hold: 'true' });
    expect(held.body.data).toMatchObject({ username: blue, generation: 1 });
    expect(held.body.lease_id).toMatch(/^database\/static-creds\/pair\//);
    expect(leases.created.at(-1)?.internal).toMatchObject({ kind: 'static-hold', role: 'pair', generation: 1 });

    expect((await write('database/rotate-role/pair')).status).toBe(204);
    const next = await read('database/static-creds/pair');
    expect(next.body.data).toMatchObject({ username: green, generation: 2, retiring_username: blue });

    const statics = staticRolesOf(h.modules.serviceOf(databaseEngine));
    // Grace 0 is over, but the hold is live: blue keeps its password.
    await statics.runDue();
    expect(await pgCanLogin(blue, held.body.data.password as string)).toBe(true);
    // The lease service revokes the hold lease through the engine's hook: no database change, the hold ends.
    await h.modules.revokeLease(leases.active(held.body.lease_id));
    expect(await pgCanLogin(blue, held.body.data.password as string)).toBe(true);
    expect((await statics.runDue()).retired).toBe(1);
    expect(await pgCanLogin(blue, held.body.data.password as string)).toBe(false);
    expect(await pgCanLogin(green, next.body.data.password as string)).toBe(true);
    expect(audit.entries.map((e) => [e.path, e.data?.action, e.outcome])).toEqual([
      ['database/rotate-role/pair', 'retire', 'ok'],
    ]);
  });

  it('keeps dynamic and static role names apart, as Vault', async () => {
    const creation = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}';`;
    const dynamic = await write('database/roles/app', { db_name: 'pg', creation_statements: creation });
    expect(dynamic.status).toBe(400);
    expect(dynamic.body).toEqual({ errors: ['Role and Static Role names must be unique'] });
    expect((await write('database/roles/dyn', { db_name: 'pg', creation_statements: creation })).status).toBe(204);
    const clash = await write('database/static-roles/dyn', { db_name: 'pg', username: single, rotation_period: 60 });
    expect(clash.status).toBe(400);
    expect(clash.body).toEqual({ errors: ['Role and Static Role names must be unique'] });
  });

  it('disabling the mount purges the static roles', async () => {
    const statics = staticRolesOf(h.modules.serviceOf(databaseEngine));
    const mount = (await h.mounts.resolve('database/static-roles/app'))!.mount;
    expect(await statics.list(mount)).toEqual(['app', 'pair']);
    await h.mounts.disable('database/');
    expect(await statics.list(mount)).toEqual([]);
  });
});
