import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineHarness, type PipelineHarness } from '../../../test/support/pipeline-harness.js';
import { staticRolePaths } from './routes.js';
import { createStaticRolesService, type StaticRolesService } from './service.js';
import { ensureStaticTables, fakeDatabase, recordingLeases, recordingSystemAudit, testPasswords } from './testing.js';

/**
 * The static-role paths through the real request pipeline (ACL, field parsing, envelope, errors). The harness serves
 * test backends under an auth prefix, so the paths here are `auth/db/...` instead of a `database/` mount.
 */
describe('static role paths (HTTP shapes)', () => {
  let h: PipelineHarness;
  const db = fakeDatabase();
  const leases = recordingLeases();
  const P = 'auth/db/';

  beforeAll(async () => {
    // The paths are compiled before the harness's storage exists; the service is filled in right after.
    const statics = {} as StaticRolesService;
    h = await createPipelineHarness({
      kvMount: false,
      extraBackends: [[P, { mountType: 'database', paths: staticRolePaths(statics) }]],
    });
    await ensureStaticTables(h.storage);
    Object.assign(
      statics,
      createStaticRolesService({
        storage: h.storage,
        barrier: h.seal.barrier,
        passwords: testPasswords,
        connections: db.connections,
        systemAudit: recordingSystemAudit(),
        leases,
      }),
    );
  });
  afterAll(async () => h.close());

  const call = (method: string, path: string, body?: unknown, query?: Record<string, string>) =>
    h.request(method, `${P}${path}`, { token: h.rootToken, body, ...(query ? { query } : {}) });

  it('creates, reads, lists and deletes a static role with Vault shapes', async () => {
    const created = await call('POST', 'static-roles/app', {
      db_name: 'db',
      username: 'app_user',
      rotation_period: '1h',
    });
    expect(created.status).toBe(204);
    const read = await call('GET', 'static-roles/app');
    expect(read.status).toBe(200);
    const data = (read.body as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({
      db_name: 'db',
      username: 'app_user',
      rotation_period: 3600,
      rotation_statements: [],
      credential_type: 'password',
    });
    expect(typeof data.last_vault_rotation).toBe('string');
    expect(data).not.toHaveProperty('password');
    const list = await call('LIST', 'static-roles');
    expect((list.body as { data: { keys: string[] } }).data.keys).toEqual(['app']);
    expect((await call('GET', 'static-roles/missing')).status).toBe(404);
    expect((await call('DELETE', 'static-roles/app')).status).toBe(204);
    expect((await call('GET', 'static-roles/app')).status).toBe(404);
  });

  it('reads static-creds with ttl and generation, and schedule fields for a cron role', async () => {
    await call('POST', 'static-roles/sched', {
      db_name: 'db',
      username: 'sched_user',
      rotation_schedule: '0 0 * * SAT',
      rotation_window: '2h',
    });
    const creds = await call('GET', 'static-creds/sched');
    expect(creds.status).toBe(200);
    const body = creds.body as { data: Record<string, unknown>; lease_id: string; lease_duration: number };
    expect(body.data).toMatchObject({
      username: 'sched_user',
      rotation_schedule: '0 0 * * SAT',
      rotation_window: 7200,
      generation: 1,
    });
    expect(db.login('sched_user', body.data.password as string)).toBe(true);
    expect(body.data.ttl).toBeGreaterThan(0);
    expect(body.data.ttl).toBeLessThanOrEqual(7 * 24 * 3600);
    expect(body.lease_id).toBe('');
  });

  it("answers Vault's errors: unknown role, invalid fields", async () => {
    const unknown = await call('GET', 'static-creds/nope');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ errors: ['unknown role: nope'] });
    const bad = await call('POST', 'static-roles/bad', { db_name: 'db', username: 'u', rotation_period: 2 });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ errors: ['rotation_period must be 5 seconds or more'] });
    const missing = await call('POST', 'rotate-role/nope');
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ errors: ['no static role found for role name'] });
  });

  it('two-account creds show the retiring account; hold=true returns a renewable lease', async () => {
    await call('POST', 'static-roles/pair', {
      db_name: 'db',
      username: 'blue',
      alternate_username: 'green',
      rotation_period: 3600,
      grace_period: 600,
    });
    expect((await call('POST', 'rotate-role/pair')).status).toBe(204);
    const creds = await call('GET', 'static-creds/pair', undefined, { hold: 'true' });
    expect(creds.status).toBe(200);
    const body = creds.body as {
      data: Record<string, unknown>;
      lease_id: string;
      lease_duration: number;
      renewable: boolean;
    };
    expect(body.data).toMatchObject({ username: 'green', generation: 2, retiring_username: 'blue' });
    expect(typeof body.data.retire_after).toBe('string');
    // The harness's probe mount is at 'db/' (auth prefix stripped); on a real mount this is 'database/static-creds/pair/<id>'.
    expect(body.lease_id).toMatch(/^db\/static-creds\/pair\/[0-9a-f-]{36}$/);
    expect(body.lease_duration).toBe(600);
    expect(body.renewable).toBe(true);
    expect(leases.created.at(-1)?.internal).toMatchObject({ kind: 'static-hold', role: 'pair', generation: 2 });
    const role = await call('GET', 'static-roles/pair');
    expect((role.body as { data: Record<string, unknown> }).data).toMatchObject({
      alternate_username: 'green',
      grace_period: 600,
    });
    // The retiring account is the next rotation's target: refused while it retires.
    const again = await call('POST', 'rotate-role/pair');
    expect(again.status).toBe(400);
  });

  it('leaves the password out of the clear audit fields (the audit service HMACs everything else)', async () => {
    await call('POST', 'static-roles/audited', { db_name: 'db', username: 'aud', rotation_period: 60 });
    h.reset();
    await call('GET', 'static-creds/audited');
    const response = h.audit.entries.find((e) => e.type === 'response') as unknown as {
      response: { clear_data: string[] };
    };
    expect(response.response.clear_data).toContain('username');
    expect(response.response.clear_data).not.toContain('password');
  });
});
