import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeFrom } from '../../../src/identity/mfa/testing.js';
import { eventually } from '../../support/eventually.js';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { cli, json } from '../cli/run.js';
import { api } from './client.js';

/**
 * Login MFA's sys/mfa/validate through a real server process: served unauthenticated, Vault's 400s for a malformed or
 * unknown request, and nothing the client sends (request id, passcode) in clear in the audit log.
 */
describe('sys/mfa/validate (real server)', () => {
  let server: StartedServer;
  let auditFile: string;
  const validate = (body: unknown) => api(server.url, 'POST', 'sys/mfa/validate', { body });

  beforeAll(async () => {
    server = await startServer();
    auditFile = join(server.dataDir, 'audit', 'mfa.log');
    const enabled = await api(server.url, 'PUT', 'sys/audit/mfa', {
      token: server.rootToken,
      body: { type: 'file', options: { file_path: auditFile } },
    });
    expect(enabled.status).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers an unknown request id with 400 "invalid request ID", without a token', async () => {
    const reply = await validate({
      mfa_request_id: '7d1c3f5e-2b4a-4e6f-9a8b-0c1d2e3f4a5b',
      mfa_payload: { 'corp-totp': ['314159'] },
    });
    expect([reply.status, reply.body]).toEqual([400, { errors: ['invalid request ID'] }]);
    // The audit entries carry the request, HMAC'd: neither the id nor the passcode is readable there.
    const log = await eventually(() => {
      const text = readFileSync(auditFile, 'utf8');
      return text.includes('"sys/mfa/validate"') &&
        text.split('\n').filter((l) => l.includes('sys/mfa/validate')).length >= 2
        ? text
        : undefined;
    }, 'the audit entries of sys/mfa/validate');
    expect(log).not.toContain('7d1c3f5e-2b4a-4e6f-9a8b-0c1d2e3f4a5b');
    expect(log).not.toContain('314159');
    expect(log).toContain('hmac-sha256:');
  });

  it('refuses malformed requests with Vault’s 400s', async () => {
    const cases: Array<[unknown, string]> = [
      [{ mfa_payload: {} }, 'missing request ID'],
      [{ mfa_request_id: 'x' }, 'missing mfa payload'],
      [{ mfa_request_id: 'x', mfa_payload: { m: '123456' } }, 'invalid mfa payload'],
    ];
    for (const [body, message] of cases) {
      const reply = await validate(body);
      expect([reply.status, reply.body]).toEqual([400, { errors: [message] }]);
    }
  });
});

/**
 * Issue 18's "TOTP required and checked", through a real server: an AppRole login on a mount with a login enforcement
 * gets an mfa_requirement and no token; the entity's TOTP secret (admin-generate) gives the code sys/mfa/validate
 * wants; a wrong code is refused, the request id is single-use, and X-Vault-MFA does it in one step — from the API and
 * from `strongroom login --mfa`.
 */
describe('login MFA with TOTP (real server)', () => {
  let server: StartedServer;
  let roleId: string;
  let secretId: string;
  let url: string;
  let methodId: string;
  const root = () => ({ token: server.rootToken });
  const login = (headers: Record<string, string> = {}) =>
    api(server.url, 'POST', 'auth/approle/login', { body: { role_id: roleId, secret_id: secretId }, headers });
  const data = <T>(reply: { body: { data: T } }) => reply.body.data;
  // Each accepted code uses up its time step: every success takes a step within the skew that none took before.
  const usedSteps = new Set<number>();
  const freshCode = (): string => {
    const current = Math.floor(Date.now() / 30_000);
    const step = [current, current + 1, current - 1].find((s) => !usedSteps.has(s));
    if (step === undefined) throw new Error('no unused time step within the skew');
    usedSteps.add(step);
    return codeFrom(url, step * 30_000);
  };

  beforeAll(async () => {
    server = await startServer();
    await enableAuthMethods(server, 'approle');
    await api(server.url, 'POST', 'auth/approle/role/ci', { ...root(), body: { token_policies: ['reader'] } });
    roleId = data<{ role_id: string }>(await api(server.url, 'GET', 'auth/approle/role/ci/role-id', root())).role_id;
    secretId = data<{ secret_id: string }>(
      await api(server.url, 'POST', 'auth/approle/role/ci/secret-id', root()),
    ).secret_id;
    // A first login, before any enforcement, creates the caller's entity.
    const first = await login();
    const entityId = first.body.auth.entity_id as string;
    expect(entityId).toMatch(/^[0-9a-f-]{36}$/);

    const created = await api(server.url, 'POST', 'identity/mfa/method/totp', {
      ...root(),
      body: { issuer: 'Strongroom', method_name: 'corp-totp' },
    });
    methodId = data<{ method_id: string }>(created).method_id;
    const generated = await api(server.url, 'POST', 'identity/mfa/method/totp/admin-generate', {
      ...root(),
      body: { method_id: methodId, entity_id: entityId },
    });
    url = data<{ url: string }>(generated).url;
    expect(url).toMatch(new RegExp(`^otpauth://totp/Strongroom:${entityId}\\?`));
    const mounts = await api(server.url, 'GET', 'sys/auth', root());
    const accessor = mounts.body.data['approle/'].accessor as string;
    const enforced = await api(server.url, 'POST', 'identity/mfa/login-enforcement/ci', {
      ...root(),
      body: { mfa_method_ids: [methodId], auth_method_accessors: [accessor] },
    });
    expect(enforced.status).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('asks for the second factor, refuses a wrong code, gives the token once', async () => {
    const parked = await login();
    expect(parked.status).toBe(200);
    expect(parked.body.auth.client_token).toBe('');
    const requestId = parked.body.auth.mfa_requirement.mfa_request_id as string;
    expect(parked.body.auth.mfa_requirement.mfa_constraints).toEqual({
      ci: { any: [{ type: 'totp', id: methodId, uses_passcode: true, name: 'corp-totp' }] },
    });

    const code = freshCode();
    const wrong = code === '000000' ? '111111' : '000000';
    const validate = (passcode: string) =>
      api(server.url, 'POST', 'sys/mfa/validate', {
        body: { mfa_request_id: requestId, mfa_payload: { [methodId]: [passcode] } },
      });
    const refused = await validate(wrong);
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0]).toMatch(
      /^failed to satisfy enforcement ci\. error: failed to validate TOTP passcode/,
    );

    const ok = await validate(code);
    expect(ok.status).toBe(200);
    const token = ok.body.auth.client_token as string;
    expect(ok.body.auth.token_policies).toEqual(['default', 'reader']);
    const self = await api(server.url, 'GET', 'auth/token/lookup-self', { token });
    expect(self.status).toBe(200);

    const replay = await validate(code);
    expect([replay.status, replay.body]).toEqual([400, { errors: ['invalid request ID'] }]);
  });

  it('single-phase: X-Vault-MFA gives the token at once; a wrong one is permission denied', async () => {
    const next = freshCode();
    const wrong = next === '000000' ? '111111' : '000000';
    const denied = await login({ 'X-Vault-MFA': `corp-totp:${wrong}` });
    expect([denied.status, denied.body]).toEqual([403, { errors: ['permission denied'] }]);
    const ok = await login({ 'X-Vault-MFA': `corp-totp:${next}` });
    expect(ok.status).toBe(200);
    expect(ok.body.auth.client_token).toMatch(/^srs\./);
    // The same code again: refused, on this or any replica.
    expect((await login({ 'X-Vault-MFA': `${methodId}:${next}` })).status).toBe(403);
  });

  it('strongroom login: --mfa for scripts; without it and without a terminal, a clear refusal', async () => {
    const env = { STRONGROOM_ADDR: server.url };
    const refused = await cli(['login', '-method=approle', `role_id=${roleId}`, `secret_id=${secretId}`], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--mfa=');
    const previous = freshCode();
    const done = await cli(
      [
        'login',
        '-method=approle',
        `-mfa=corp-totp:${previous}`,
        `role_id=${roleId}`,
        `secret_id=${secretId}`,
        '--no-store',
        '-o',
        'json',
      ],
      { env },
    );
    expect(done.code).toBe(0);
    expect(json<{ client_token: string }>(done).client_token).toMatch(/^srs\./);
  });
});
