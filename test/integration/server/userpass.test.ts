import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/** userpass and Vault's user lockout through a real server process, audited to a real file. */
describe('userpass login and user lockout (real server process)', () => {
  let server: StartedServer;
  let accessor: string;
  const auditDir = mkdtempSync(join(tmpdir(), 'strongroom-userpass-audit-'));
  const auditFile = join(auditDir, 'audit.log');
  const PASSWORD = 'alice-correct-horse-71';
  const root = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.rootToken, ...(body !== undefined ? { body } : {}) });
  const login = (name: string, password: string) =>
    api(server.url, 'POST', `auth/userpass/login/${name}`, { body: { password } });

  beforeAll(async () => {
    server = await startServer({ args: [`--audit-file=${auditFile}`] });
    expect((await root('POST', 'sys/auth/userpass', { type: 'userpass' })).status).toBe(204);
    accessor = (await root('GET', 'sys/auth/userpass')).body.data.accessor as string;
    await root('POST', 'sys/policies/acl/reader', { policy: 'path "secret/data/team/*" { capabilities = ["read"] }' });
    await root('POST', 'secret/data/team/db', { data: { password: 'db-pw' } });
    expect(
      (await root('POST', 'auth/userpass/users/alice', { password: PASSWORD, token_policies: 'reader' })).status,
    ).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(auditDir, { recursive: true, force: true });
  });

  it('logs in and the token reads what its policy grants', async () => {
    const res = await login('alice', PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.auth).toMatchObject({ policies: ['default', 'reader'], metadata: { username: 'alice' } });
    const read = await api(server.url, 'GET', 'secret/data/team/db', { token: res.body.auth.client_token });
    expect(read.body.data.data).toEqual({ password: 'db-pw' });
    const wrong = await login('alice', 'nope');
    expect([wrong.status, wrong.body]).toEqual([400, { errors: ['invalid username or password'] }]);
  });

  it('locks after the threshold, refuses the right password while locked, accepts it after the duration', async () => {
    const tune = await root('POST', 'sys/auth/userpass/tune', {
      user_lockout_config: { lockout_threshold: '3', lockout_duration: '2s', lockout_counter_reset: '1m' },
    });
    expect(tune.status).toBe(204);
    // A successful login starts the count again (the previous test left one failure).
    expect((await login('alice', PASSWORD)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await login('alice', `wrong-${i}`)).status).toBe(400);
    const locked = await login('alice', PASSWORD);
    expect([locked.status, locked.body]).toEqual([403, { errors: ['permission denied'] }]);
    const listed = await root('GET', 'sys/locked-users');
    expect(listed.body.data.by_namespace[0].mount_accessors).toEqual([
      { mount_accessor: accessor, counts: 1, alias_identifiers: ['alice'] },
    ]);
    // Released after the lockout duration (no timing assertion: only "refused now, accepted after").
    let after = await login('alice', PASSWORD);
    for (let i = 0; i < 40 && after.status === 403; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await login('alice', PASSWORD);
    }
    expect(after.status).toBe(200);
  });

  it('unlocks a locked user through sys/locked-users before the duration ends', async () => {
    await root('POST', 'sys/auth/userpass/tune', { user_lockout_config: { lockout_duration: '1h' } });
    for (let i = 0; i < 3; i++) expect((await login('alice', `again-${i}`)).status).toBe(400);
    expect((await login('alice', PASSWORD)).status).toBe(403);
    expect((await root('POST', `sys/locked-users/${accessor}/unlock/alice`)).status).toBe(204);
    expect((await login('alice', PASSWORD)).status).toBe(200);
    expect((await root('GET', 'sys/locked-users')).body.data.total).toBe(0);
  });

  it('audits each lockout as system:user-lockout, and no password reaches the audit log or the server output', async () => {
    const lines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; auth?: { display_name?: string }; request: any }); // eslint-disable-line @typescript-eslint/no-explicit-any
    const lockouts = lines.filter((l) => l.type === 'request' && l.auth?.display_name === 'system:user-lockout');
    expect(lockouts).toHaveLength(2);
    expect(lockouts[0]!.request).toMatchObject({
      path: 'auth/userpass/login/alice',
      data: { mount_accessor: accessor, alias_identifier: 'alice', failed_attempts: 3 },
    });
    // Login request bodies are HMAC'd: the password is there only as hmac-sha256:…
    const loginEntry = lines.find((l) => l.request?.path === 'auth/userpass/login/alice' && l.request?.data?.password);
    expect(loginEntry?.request.data.password).toMatch(/^hmac-sha256:/);
    const everything = readFileSync(auditFile, 'utf8') + server.stdout() + server.stderr();
    for (const secret of [PASSWORD, 'wrong-0', 'again-1']) expect(everything).not.toContain(secret);
  });
});
