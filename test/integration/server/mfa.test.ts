import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Login MFA's sys/mfa/validate through a real server process: served unauthenticated, Vault's 400s for a malformed or
 * unknown request, and nothing the client sends (request id, passcode) in clear in the audit log. The full flow
 * (enforcement on a mount → mfa_requirement → validate → token, and X-Vault-MFA) runs in src/identity/mfa/routes.test.ts
 * through the pipeline until the identity store serves identity/mfa/* on the real server.
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
