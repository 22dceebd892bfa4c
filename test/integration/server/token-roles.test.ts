import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api, vaultClient } from './client.js';

/**
 * Issue 15, items 5 and 8: Vault's token store roles through a real server, with requests shaped as the `vault` CLI
 * sends them (`vault write auth/token/roles/<name> key=value`: every value a string; `vault token create -role=`;
 * `vault list`: GET with ?list=true), and lookup-self's own `id`.
 */
describe('token roles (real server process)', () => {
  let server: StartedServer;
  let auditDir: string;
  const call = (method: string, path: string, token: string, body?: unknown) =>
    api(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const root = (method: string, path: string, body?: unknown) => call(method, path, server.rootToken, body);

  /** A non-root token with only `policies` (and default). */
  async function tokenWith(policies: string[]): Promise<string> {
    const created = await root('POST', 'auth/token/create', { policies, ttl: '1h' });
    expect(created.status).toBe(200);
    return created.body.auth.client_token as string;
  }

  beforeAll(async () => {
    auditDir = mkdtempSync(join(tmpdir(), 'strongroom-token-roles-'));
    server = await startServer({ args: [`--audit-file=${join(auditDir, 'audit.log')}`] });
    const grant = (name: string, path: string, caps: string) =>
      root('PUT', `sys/policies/acl/${name}`, { policy: `path "${path}" { capabilities = [${caps}] }` });
    expect((await grant('use-deploy', 'auth/token/create/deploy', '"update"')).status).toBe(204);
    expect((await grant('use-any-role', 'auth/token/create/*', '"update"')).status).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
    if (auditDir) rmSync(auditDir, { recursive: true, force: true });
  });

  it('writes, reads (durations as whole seconds), lists and deletes a role as the vault CLI does', async () => {
    const empty = await root('GET', 'auth/token/roles?list=true');
    expect(empty.status).toBe(404);
    expect(empty.body).toEqual({ errors: [] });
    const written = await root('PUT', 'auth/token/roles/deploy', {
      allowed_policies: 'deployer,reader',
      token_explicit_max_ttl: '2h',
      renewable: 'true',
    });
    expect(written.status).toBe(204);
    const read = await root('GET', 'auth/token/roles/deploy');
    expect(read.status).toBe(200);
    expect(read.headers.get('content-type')).toMatch(/^application\/json/);
    expect(read.body.data).toEqual({
      allowed_entity_aliases: [],
      allowed_policies: ['deployer', 'reader'],
      allowed_policies_glob: [],
      disallowed_policies: [],
      disallowed_policies_glob: [],
      explicit_max_ttl: 0,
      name: 'deploy',
      orphan: false,
      path_suffix: '',
      period: 0,
      renewable: true,
      token_explicit_max_ttl: 7200,
      token_no_default_policy: false,
      token_period: 0,
      token_type: 'default-service',
    });
    expect((await root('PUT', 'auth/token/roles/scratch', {})).status).toBe(204);
    const listed = await root('GET', 'auth/token/roles?list=true');
    expect(listed.status).toBe(200);
    expect(listed.body.data.keys).toEqual(expect.arrayContaining(['deploy', 'scratch']));
    expect((await root('LIST', 'auth/token/roles')).body.data.keys).toEqual(listed.body.data.keys);
    expect((await root('DELETE', 'auth/token/roles/scratch')).status).toBe(204);
    const gone = await root('GET', 'auth/token/roles/scratch');
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ errors: [] });
  });

  it('creates a token from a role with a subset of its allowed policies, which the parent does not hold; a policy outside is 400', async () => {
    const parent = await tokenWith(['use-deploy']);
    const ok = await call('POST', 'auth/token/create/deploy', parent, { policies: ['reader'] });
    expect(ok.status).toBe(200);
    expect(ok.body.auth.policies).toEqual(['default', 'reader']);
    expect(ok.body.auth.orphan).toBe(false);
    const all = await call('POST', 'auth/token/create/deploy', parent, {});
    expect(all.body.auth.policies).toEqual(['default', 'deployer', 'reader']);
    // The role's explicit max TTL caps the token.
    expect(all.body.auth.lease_duration).toBeLessThanOrEqual(7200);
    const lookup = await call('GET', 'auth/token/lookup-self', all.body.auth.client_token);
    expect(lookup.body.data).toMatchObject({
      role: 'deploy',
      path: 'auth/token/create/deploy',
      explicit_max_ttl: 7200,
    });

    const outside = await call('POST', 'auth/token/create/deploy', parent, { policies: ['reader', 'admin'] });
    expect(outside.status).toBe(400);
    expect(outside.body.errors[0]).toContain("must be subset of the role's allowed policies");
    expect(outside.body.auth).toBeUndefined();
  });

  it('needs update on auth/token/create/<role>: the plain create grant is not enough', async () => {
    const plain = await root('PUT', 'sys/policies/acl/plain-creator', {
      policy: 'path "auth/token/create" { capabilities = ["update"] }',
    });
    expect(plain.status).toBe(204);
    const parent = await tokenWith(['plain-creator']);
    const denied = await call('POST', 'auth/token/create/deploy', parent, {});
    expect(denied.status).toBe(403);
    expect(denied.body.errors).toEqual(['permission denied']);
    const unknown = await root('POST', 'auth/token/create/no-such-role', {});
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual(['unknown role no-such-role']);
  });

  it('applies allowed and disallowed globs', async () => {
    expect(
      (
        await root('POST', 'auth/token/roles/teams', {
          allowed_policies_glob: 'team-*',
          disallowed_policies_glob: '*-admin',
        })
      ).status,
    ).toBe(204);
    const parent = await tokenWith(['use-any-role']);
    const ok = await call('POST', 'auth/token/create/teams', parent, { policies: ['team-a'] });
    expect(ok.status).toBe(200);
    expect(ok.body.auth.policies).toEqual(['default', 'team-a']);
    const admin = await call('POST', 'auth/token/create/teams', parent, { policies: ['team-admin'] });
    expect(admin.status).toBe(400);
    expect(admin.body.errors).toEqual(['token policy "team-admin" is disallowed by this role']);
    expect((await call('POST', 'auth/token/create/teams', parent, { policies: ['ops'] })).status).toBe(400);
  });

  it('an orphan role makes tokens that outlive their creator, without sudo', async () => {
    expect(
      (await root('POST', 'auth/token/roles/detached', { allowed_policies: ['reader'], orphan: true })).status,
    ).toBe(204);
    const parent = await tokenWith(['use-any-role']);
    const child = await call('POST', 'auth/token/create/detached', parent, {});
    expect(child.status).toBe(200);
    expect(child.body.auth.orphan).toBe(true);
    expect((await root('POST', 'auth/token/revoke', { token: parent })).status).toBe(204);
    expect((await call('GET', 'auth/token/lookup-self', child.body.auth.client_token)).status).toBe(200);
  });

  it('a period role makes periodic tokens without sudo; a requested period still needs sudo', async () => {
    expect(
      (await root('POST', 'auth/token/roles/periodic', { allowed_policies: 'reader', token_period: '30m' })).status,
    ).toBe(204);
    expect((await root('GET', 'auth/token/roles/periodic')).body.data).toMatchObject({ token_period: 1800, period: 0 });
    const parent = await tokenWith(['use-any-role']);
    const made = await call('POST', 'auth/token/create/periodic', parent, {});
    expect(made.status).toBe(200);
    expect(made.body.auth.lease_duration).toBe(1800);
    const lookup = await call('GET', 'auth/token/lookup-self', made.body.auth.client_token);
    expect(lookup.body.data).toMatchObject({ period: 1800, creation_ttl: 1800 });
    expect(typeof lookup.body.data.ttl).toBe('number');
    const asked = await call('POST', 'auth/token/create/periodic', parent, { period: '10m' });
    expect(asked.status).toBe(403);
    expect(asked.body.errors).toEqual(['root or sudo privileges required to create periodic token']);
  });

  it('puts path_suffix into the token path, and refuses a suffix with parent references', async () => {
    expect((await root('POST', 'auth/token/roles/svc', { allowed_policies: 'reader', path_suffix: 'v2' })).status).toBe(
      204,
    );
    const made = await root('POST', 'auth/token/create/svc', {});
    expect((await call('GET', 'auth/token/lookup-self', made.body.auth.client_token)).body.data.path).toBe(
      'auth/token/create/svc/v2',
    );
    const bad = await root('POST', 'auth/token/roles/svc', { path_suffix: '../escape' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual(['error registering path suffix: path cannot contain parent references']);
    const odd = await root('POST', 'auth/token/roles/svc', { path_suffix: 'v2 blue' });
    expect(odd.status).toBe(400);
    expect(odd.body.errors[0]).toMatch(/^given role path suffix contains invalid characters/);
    expect((await root('GET', 'auth/token/roles/svc')).body.data.path_suffix).toBe('v2');
  });

  it('refuses batch tokens with a clear error', async () => {
    const batch = await root('POST', 'auth/token/roles/batchy', { token_type: 'batch' });
    expect(batch.status).toBe(400);
    expect(batch.body.errors[0]).toContain('only service tokens');
  });

  it('enforces token_bound_cidrs: a token bound elsewhere is refused from 127.0.0.1, one bound to loopback works', async () => {
    expect(
      (await root('POST', 'auth/token/roles/far', { allowed_policies: 'reader', token_bound_cidrs: '10.0.0.0/8' }))
        .status,
    ).toBe(204);
    expect(
      (
        await root('POST', 'auth/token/roles/near', {
          allowed_policies: 'reader',
          token_bound_cidrs: ['127.0.0.0/8', '::1/128'],
        })
      ).status,
    ).toBe(204);
    expect((await root('GET', 'auth/token/roles/far')).body.data.token_bound_cidrs).toEqual(['10.0.0.0/8']);

    const far = await root('POST', 'auth/token/create/far', {});
    expect(far.status).toBe(200);
    const refused = await call('GET', 'auth/token/lookup-self', far.body.auth.client_token);
    expect(refused.status).toBe(403);
    expect(refused.body.errors).toEqual(['permission denied']);
    // Still alive, only not from here: its accessor looks it up.
    const byAccessor = await root('POST', 'auth/token/lookup-accessor', { accessor: far.body.auth.accessor });
    expect(byAccessor.body.data).toMatchObject({ bound_cidrs: ['10.0.0.0/8'], id: '' });

    const near = await root('POST', 'auth/token/create/near', {});
    const ok = await call('GET', 'auth/token/lookup-self', near.body.auth.client_token);
    expect(ok.status).toBe(200);
    expect(ok.body.data.bound_cidrs).toEqual(['127.0.0.0/8', '::1/128']);
  });

  it("works through node-vault's token role calls", async () => {
    const vault = vaultClient(server.url, server.rootToken);
    await vault.addTokenRole({
      role_name: 'nv',
      allowed_policies: 'reader,writer',
      orphan: true,
      period: 600,
      path_suffix: 'nv1',
    });
    const role = await vault.getTokenRole({ role_name: 'nv' });
    expect(role.data).toMatchObject({
      allowed_policies: ['reader', 'writer'],
      orphan: true,
      period: 600,
      token_period: 600,
      path_suffix: 'nv1',
    });
    expect((await vault.tokenRoles()).data.keys).toContain('nv');
    // tokenCreateRole makes the client use the new token; a client of its own keeps the root one untouched.
    const creator = vaultClient(server.url, server.rootToken);
    const created = await creator.tokenCreateRole({ role_name: 'nv', policies: ['reader'] });
    expect(created.auth).toMatchObject({ policies: ['default', 'reader'], orphan: true, lease_duration: 600 });
    expect(creator.token).toBe(created.auth.client_token);
    const self = await creator.tokenLookupSelf();
    expect(self.data).toMatchObject({
      id: created.auth.client_token,
      role: 'nv',
      path: 'auth/token/create/nv/nv1',
      period: 600,
    });
    await vault.removeTokenRole({ role_name: 'nv' });
    expect((await vault.tokenRoles()).data.keys).not.toContain('nv');
  });

  it("lookup-self and lookup return the token's own id; the audit log holds only its HMAC", async () => {
    const token = await tokenWith([]);
    const self = await call('GET', 'auth/token/lookup-self', token);
    expect(self.status).toBe(200);
    expect(self.body.data.id).toBe(token);
    expect(self.body.data.creation_ttl).toBe(3600);
    expect((await root('POST', 'auth/token/lookup', { token })).body.data.id).toBe(token);
    expect((await call('POST', 'auth/token/lookup-self', token, {})).body.data.id).toBe(token);
    const accessor = self.body.data.accessor as string;
    expect((await root('POST', 'auth/token/lookup-accessor', { accessor })).body.data.id).toBe('');
    // renew-self, like Vault, answers with the token it renewed; renew-accessor does not know it.
    const renewed = await call('POST', 'auth/token/renew-self', token, { increment: '30m' });
    expect(renewed.status).toBe(200);
    expect(renewed.body.auth.client_token).toBe(token);
    expect((await root('POST', 'auth/token/renew-accessor', { accessor })).body.auth.client_token).toBe('');

    const raw = readFileSync(join(auditDir, 'audit.log'), 'utf8');
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(token.slice(4));
    const entries = raw
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const response = entries.find(
      (e) => e.type === 'response' && e.request?.path === 'auth/token/lookup-self' && e.response?.data?.id,
    );
    expect(response.response.data.id).toMatch(/^hmac-sha256:/);
  });
});
