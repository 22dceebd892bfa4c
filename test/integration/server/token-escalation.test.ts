import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

/**
 * Issue 14, item 1: token creation must not let a caller escape its own limits. Vault's token-store rules
 * (auth/token/create): no_parent and period need root or sudo on the create path, create-orphan needs sudo, a token
 * with a use limit cannot create tokens at all, and a child dies with its parent unless it was legitimately orphaned.
 */
describe('token creation cannot escalate lifetime or escape revocation (real server process)', () => {
  let server: StartedServer;
  const call = (method: string, path: string, token: string, body?: unknown) =>
    api(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });
  const root = (method: string, path: string, body?: unknown) => call(method, path, server.rootToken, body);

  async function tokenWith(policies: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const created = await root('POST', 'auth/token/create', { policies, ...extra });
    expect(created.status).toBe(200);
    return created.body.auth.client_token as string;
  }
  const alive = async (token: string) => (await call('GET', 'auth/token/lookup-self', token)).status === 200;

  beforeAll(async () => {
    server = await startServer();
    expect(
      (
        await root('PUT', 'sys/policies/acl/creator', {
          policy: 'path "auth/token/create" { capabilities = ["update"] }',
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await root('PUT', 'sys/policies/acl/sudo-creator', {
          policy: 'path "auth/token/create" { capabilities = ["update", "sudo"] }',
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await root('PUT', 'sys/policies/acl/revocable-creator', {
          policy: 'path "auth/token/create" { capabilities = ["update"] }',
        })
      ).status,
    ).toBe(204);
    expect(
      (
        await root('PUT', 'sys/policies/acl/orphan-creator', {
          policy: 'path "auth/token/create-orphan" { capabilities = ["update"] }',
        })
      ).status,
    ).toBe(204);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses no_parent with an unlimited period from a token that holds only update on auth/token/create', async () => {
    const parent = await tokenWith(['creator'], { ttl: '1h' });
    const attempt = await call('POST', 'auth/token/create', parent, { no_parent: true, period: '768000h' });
    expect(attempt.status).toBe(403);
    expect(attempt.body.errors[0]).toMatch(/root or sudo privileges required/);
    expect(attempt.body.auth).toBeUndefined();

    const orphanOnly = await call('POST', 'auth/token/create', parent, { no_parent: true });
    expect(orphanOnly.status).toBe(403);
    expect(orphanOnly.body.errors).toEqual(['root or sudo privileges required to create orphan token']);
    const periodOnly = await call('POST', 'auth/token/create', parent, { period: '768000h' });
    expect(periodOnly.status).toBe(403);
    expect(periodOnly.body.errors).toEqual(['root or sudo privileges required to create periodic token']);
  });

  it('refuses create-orphan without sudo on that path, even with update on it', async () => {
    const parent = await tokenWith(['orphan-creator'], { ttl: '1h' });
    expect((await call('POST', 'auth/token/create-orphan', parent, {})).status).toBe(403);
  });

  it("a child never outlives its parent's explicit max TTL", async () => {
    const parent = await tokenWith(['creator'], { ttl: '1h', explicit_max_ttl: '2h' });
    const child = await call('POST', 'auth/token/create', parent, { ttl: '1000h', explicit_max_ttl: '1000h' });
    expect(child.status).toBe(200);
    expect(child.body.auth.lease_duration).toBeLessThanOrEqual(2 * 3600);
    const lookup = await call('GET', 'auth/token/lookup-self', child.body.auth.client_token as string);
    expect(lookup.body.data.ttl).toBeLessThanOrEqual(2 * 3600);
    // Renewal cannot push the child past the parent's hard limit either.
    const renewed = await call('POST', 'auth/token/renew-self', child.body.auth.client_token as string, {
      increment: '1000h',
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.auth.lease_duration).toBeLessThanOrEqual(2 * 3600);
  });

  it('a token with a use limit cannot create tokens (they would escape the limit)', async () => {
    const limited = await tokenWith(['creator'], { ttl: '1h', num_uses: 3 });
    const attempt = await call('POST', 'auth/token/create', limited, {});
    expect(attempt.status).toBe(403);
    expect(attempt.body.errors).toEqual(['restricted use token cannot generate child tokens']);
    const orphanAttempt = await call('POST', 'auth/token/create', limited, { no_parent: true });
    expect(orphanAttempt.status).toBe(403);
  });

  it('children created without sudo die with their parent', async () => {
    const parent = await tokenWith(['revocable-creator'], { ttl: '1h' });
    await call('POST', 'auth/token/create', parent, { no_parent: true, period: '768000h' });
    const child = await call('POST', 'auth/token/create', parent, { ttl: '30m' });
    expect(child.status).toBe(200);
    const childToken = child.body.auth.client_token as string;
    expect(child.body.auth.orphan).toBe(false);
    expect(await alive(childToken)).toBe(true);
    expect((await root('POST', 'auth/token/revoke', { token: parent })).status).toBe(204);
    expect(await alive(childToken)).toBe(false);
    // Nothing the parent created survives (the no_parent attempt included): no live token carries its policy.
    const accessors = await root('GET', 'auth/token/accessors/?list=true');
    for (const accessor of accessors.body.data.keys as string[]) {
      const info = await root('POST', 'auth/token/lookup-accessor', { accessor });
      expect(info.body.data.policies).not.toContain('revocable-creator');
    }
  });

  it("with sudo on auth/token/create, no_parent and period are Vault's legitimate orphans and periodic tokens", async () => {
    const parent = await tokenWith(['sudo-creator'], { ttl: '1h' });
    const orphan = await call('POST', 'auth/token/create', parent, { no_parent: true, ttl: '30m' });
    expect(orphan.status).toBe(200);
    expect(orphan.body.auth.orphan).toBe(true);
    const periodic = await call('POST', 'auth/token/create', parent, { period: '20m' });
    expect(periodic.status).toBe(200);
    expect(periodic.body.auth.lease_duration).toBe(1200);
    expect(periodic.body.auth.orphan).toBe(false);
    await root('POST', 'auth/token/revoke', { token: parent });
    expect(await alive(orphan.body.auth.client_token as string)).toBe(true);
    expect(await alive(periodic.body.auth.client_token as string)).toBe(false);
  });

  it('refuses a chosen token value instead of silently generating another one', async () => {
    const attempt = await root('POST', 'auth/token/create', { id: 'srs.my-chosen-token', policies: ['default'] });
    expect(attempt.status).toBe(400);
    expect(attempt.text).not.toContain('srs.my-chosen-token');
  });

  it('an expiring root token cannot mint a root token that never expires', async () => {
    const expiringRoot = await tokenWith(['root'], { ttl: '1h' });
    const attempt = await call('POST', 'auth/token/create', expiringRoot, { policies: ['root'], no_parent: true });
    expect(attempt.status).toBe(403);
    expect(attempt.body.errors).toEqual(['expiring root tokens cannot create non-expiring root tokens']);
    const bounded = await call('POST', 'auth/token/create', expiringRoot, {
      policies: ['root'],
      no_parent: true,
      ttl: '10m',
    });
    expect(bounded.status).toBe(200);
  });
});
