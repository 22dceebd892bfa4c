import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Issue 14, item 4: allowed_parameters, denied_parameters and required_parameters are enforced with Vault's
 * semantics, not just stored.
 */
const POLICY_AUTHOR = `
path "sys/policies/acl/team-*" {
  capabilities = ["create", "update"]
  # No policy that hands out sudo, whatever the case or the position of the word.
  denied_parameters = { "policy" = ["*sudo*", "*SUDO*"] }
}
`;
const CAS_WRITER = `
path "secret/data/locked/*" {
  capabilities = ["create", "update", "read"]
  required_parameters = ["options"]
}
`;
const TOKEN_MINTER = `
path "auth/token/create" {
  capabilities = ["update"]
  allowed_parameters = {
    "ttl" = ["1h", "30m"]
    "display_name" = ["ci-*"]
    "policies" = []
  }
}
`;
/** A second policy on the same path: its allowed values join the first one's (Vault merges them). */
const TOKEN_MINTER_LONGER = `
path "auth/token/create" {
  capabilities = ["update"]
  allowed_parameters = { "ttl" = ["2h"] }
  denied_parameters = { "num_uses" = [] }
}
`;

describe('policy parameter constraints are enforced (real server process)', () => {
  let server: StartedServer;
  const call = (method: string, path: string, token: string, body?: unknown) =>
    api(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const root = (method: string, path: string, body?: unknown) => call(method, path, server.rootToken, body);

  async function tokenFor(policies: Record<string, string>): Promise<string> {
    for (const [name, text] of Object.entries(policies)) {
      expect((await root('PUT', `sys/policies/acl/${name}`, { policy: text })).status).toBe(204);
    }
    const created = await root('POST', 'auth/token/create', { policies: Object.keys(policies), ttl: '1h' });
    return created.body.auth.client_token as string;
  }

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('denied_parameters with globs refuses matching values and lets others through', async () => {
    const author = await tokenFor({ 'policy-author': POLICY_AUTHOR });
    const sudo = { policy: 'path "sys/*" { capabilities = ["read", "sudo"] }' };
    const denied = await call('PUT', 'sys/policies/acl/team-ops', author, sudo);
    expect(denied.status).toBe(403);
    expect((await root('GET', 'sys/policies/acl/team-ops')).status).toBe(404);
    expect(
      (await call('PUT', 'sys/policies/acl/team-ops', author, { policy: 'path "sys/*" { capabilities = ["SUDO"] }' }))
        .status,
    ).toBe(403);
    const fine = await call('PUT', 'sys/policies/acl/team-ops', author, {
      policy: 'path "secret/data/ops/*" { capabilities = ["read"] }',
    });
    expect(fine.status).toBe(204);
  });

  it('required_parameters refuses a write without the parameter (here: a KV write without its options / CAS)', async () => {
    const writer = await tokenFor({ 'cas-writer': CAS_WRITER });
    const bare = await call('POST', 'secret/data/locked/db', writer, { data: { password: 'x' } });
    expect(bare.status).toBe(403);
    expect((await root('GET', 'secret/data/locked/db')).status).toBe(404);
    const withCas = await call('POST', 'secret/data/locked/db', writer, {
      options: { cas: 0 },
      data: { password: 'x' },
    });
    expect(withCas.status).toBe(200);
    // Vault checks reads too (their query parameters are the data), so a read needs the parameter as well.
    expect((await call('GET', 'secret/data/locked/db', writer)).status).toBe(403);
    expect((await call('GET', 'secret/data/locked/db?options=1', writer)).status).toBe(200);
  });

  it('allowed_parameters limits keys and values, and two policies on one path merge their allowed values', async () => {
    const minter = await tokenFor({ 'token-minter': TOKEN_MINTER });
    const ok = await call('POST', 'auth/token/create', minter, {
      ttl: '30m',
      display_name: 'ci-build',
      policies: ['token-minter'],
    });
    expect(ok.status).toBe(200);
    expect((await call('POST', 'auth/token/create', minter, { ttl: '5h' })).status).toBe(403);
    expect((await call('POST', 'auth/token/create', minter, { display_name: 'prod' })).status).toBe(403);
    expect((await call('POST', 'auth/token/create', minter, { ttl: '1h', num_uses: 3 })).status).toBe(403);
    // Keys are compared case-insensitively: a capitalised key is the same parameter.
    expect((await call('POST', 'auth/token/create', minter, { TTL: '5h' })).status).toBe(403);
    expect((await call('POST', 'auth/token/create', minter, {})).status).toBe(200);

    const merged = await tokenFor({ 'token-minter': TOKEN_MINTER, 'token-minter-longer': TOKEN_MINTER_LONGER });
    expect((await call('POST', 'auth/token/create', merged, { ttl: '2h' })).status).toBe(200);
    expect((await call('POST', 'auth/token/create', merged, { ttl: '1h' })).status).toBe(200);
    expect((await call('POST', 'auth/token/create', merged, { ttl: '3h' })).status).toBe(403);
    // denied wins over allowed, and comes from the other policy.
    expect((await call('POST', 'auth/token/create', merged, { ttl: '1h', num_uses: 3 })).status).toBe(403);
  });

  it('a rule that Vault grants only with MFA grants nothing here, and one for wrapped responses nothing unwrapped', async () => {
    await root('POST', 'secret/data/guarded/key', { data: { v: 'guarded' } });
    const token = await tokenFor({
      guarded:
        'path "secret/data/guarded/*" { capabilities = ["read"] mfa_methods = ["totp"] }\npath "secret/data/wrapped/*" { capabilities = ["read"] max_wrapping_ttl = "5m" }',
    });
    const read = await call('GET', 'secret/data/guarded/key', token);
    expect(read.status).toBe(403);
    expect(read.text).not.toContain('guarded"');
    expect((await call('GET', 'secret/data/wrapped/key', token)).status).toBe(403);
  });

  it('refuses a policy whose constraints are malformed, with a clear 400', async () => {
    const bad = await root('PUT', 'sys/policies/acl/broken', {
      policy: 'path "x" { capabilities = ["update"] allowed_parameters = ["ttl"] }',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatch(/allowed_parameters must map parameter names to lists of values/);
  });
});
