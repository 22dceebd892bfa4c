import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api, vaultClient } from './client.js';

/** Polls until `check` passes (cross-replica changes arrive through caches with a refresh interval). */
async function eventually<T>(
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Two stateless server processes (production mode, Shamir seal) sharing one PostgreSQL database: what a
 * Deployment with replicas > 1 does. Everything written through one must be visible and enforced through the other.
 */
describe.skipIf(postgresSkipReason !== undefined)('replicas on PostgreSQL (two server processes, one database)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: StartedServer;
  let b: StartedServer;
  let rootToken: string;
  let shares: string[];

  beforeAll(async () => {
    db = await createTestDatabase();
    // Started together: both run the migrations against the empty database at the same time.
    [a, b] = await Promise.all([
      startServer({ dev: false, args: [`--database-url=${db.url}`] }),
      startServer({ dev: false, args: [`--database-url=${db.url}`] }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('initializes through one replica and unseals both with the same shares', async () => {
    // The banner's second line follows the listening line (it reads the seal status first).
    await eventually(
      async () => a.stdout(),
      (out) => out.includes('Not initialized'),
      'the "not initialized" banner',
    );
    const init = await api(a.url, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
    expect(init.status).toBe(200);
    shares = init.body.keys as string[];
    rootToken = init.body.root_token as string;
    expect(shares).toHaveLength(3);

    // A stays sealed after init, as Vault does; B learns from the shared database that the store is initialized
    // and is sealed too: each replica is unsealed with the same shares.
    expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({
      initialized: true,
      sealed: true,
      t: 2,
      n: 3,
    });
    expect((await api(a.url, 'GET', 'sys/mounts', { token: rootToken })).status).toBe(503);
    await api(a.url, 'PUT', 'sys/unseal', { body: { key: shares[1] } });
    expect((await api(a.url, 'PUT', 'sys/unseal', { body: { key: shares[2] } })).body).toMatchObject({ sealed: false });
    const statusB = await api(b.url, 'GET', 'sys/seal-status');
    expect(statusB.body).toMatchObject({ initialized: true, sealed: true, t: 2, n: 3 });
    expect((await api(b.url, 'GET', 'sys/mounts', { token: rootToken })).status).toBe(503);
    const first = await api(b.url, 'PUT', 'sys/unseal', { body: { key: shares[2] } });
    expect(first.body).toMatchObject({ sealed: true, progress: 1 });
    const second = await api(b.url, 'PUT', 'sys/unseal', { body: { key: shares[0] } });
    expect(second.body).toMatchObject({ sealed: false });
    expect((await api(b.url, 'GET', 'sys/health')).status).toBe(200);
  });

  it('serves on B what was written on A: mounts, secrets and tokens', async () => {
    const rootA = vaultClient(a.url, rootToken);
    await rootA.mount({ mount_point: 'secret', type: 'kv-v2' });
    await rootA.write('secret/data/shared/db', { data: { password: 'from-a' } });
    const onB = await eventually(
      () => api(b.url, 'GET', 'secret/data/shared/db', { token: rootToken }),
      (res) => res.status === 200,
      'the new mount and secret to be readable on B',
    );
    expect(onB.body.data.data.password).toBe('from-a');

    // Versions written on B continue A's history.
    await vaultClient(b.url, rootToken).write('secret/data/shared/db', { data: { password: 'from-b' } });
    const latest = await rootA.read('secret/data/shared/db');
    expect(latest.data).toMatchObject({ data: { password: 'from-b' }, metadata: { version: 2 } });
  });

  it('honours on B a token created on A, and its revocation on A within the cache window', async () => {
    await vaultClient(a.url, rootToken).addPolicy({
      name: 'shared-read',
      rules: 'path "secret/data/shared/*" { capabilities = ["read"] }',
    });
    const created = await api(a.url, 'POST', 'auth/token/create', {
      token: rootToken,
      body: { policies: ['shared-read'], ttl: '1h' },
    });
    const token = created.body.auth.client_token as string;
    expect((await api(b.url, 'GET', 'secret/data/shared/db', { token })).status).toBe(200);
    expect((await api(b.url, 'GET', 'sys/mounts', { token })).status).toBe(403);

    expect((await api(a.url, 'POST', 'auth/token/revoke', { token: rootToken, body: { token } })).status).toBe(204);
    expect((await api(a.url, 'GET', 'secret/data/shared/db', { token })).status).toBe(403);
    // B may serve the token from its authentication cache for at most its TTL (1 s), then must refuse it.
    await eventually(
      () => api(b.url, 'GET', 'secret/data/shared/db', { token }),
      (res) => res.status === 403,
      'B to refuse the revoked token',
    );
    const lookup = await api(b.url, 'POST', 'auth/token/lookup', { token: rootToken, body: { token } });
    expect(lookup.status).toBe(403);
  });

  it('enforces on B a policy changed on A, even while B is idle', async () => {
    const created = await api(b.url, 'POST', 'auth/token/create', {
      token: rootToken,
      body: { policies: ['shared-read'], ttl: '1h' },
    });
    const token = created.body.auth.client_token as string;
    expect((await api(b.url, 'GET', 'secret/data/other/x', { token })).status).toBe(403);
    await vaultClient(a.url, rootToken).write('secret/data/other/x', { data: { v: 'granted-later' } });
    await vaultClient(a.url, rootToken).addPolicy({
      name: 'shared-read',
      rules:
        'path "secret/data/shared/*" { capabilities = ["read"] }\npath "secret/data/other/*" { capabilities = ["read"] }',
    });
    const granted = await eventually(
      () => api(b.url, 'GET', 'secret/data/other/x', { token }),
      (res) => res.status === 200,
      'B to apply the new policy',
    );
    expect(granted.body.data.data.v).toBe('granted-later');
  });

  it('keeps B reading after the barrier key is rotated on A', async () => {
    const termBefore = (await api(b.url, 'GET', 'sys/key-status', { token: rootToken })).body.data.term as number;
    expect((await api(a.url, 'POST', 'sys/rotate', { token: rootToken })).status).toBe(204);
    await vaultClient(a.url, rootToken).write('secret/data/shared/after-rotate', { data: { v: 'new-term' } });
    // Written under a term B has not loaded yet: B refreshes its keyring on demand.
    const read = await api(b.url, 'GET', 'secret/data/shared/after-rotate', { token: rootToken });
    expect(read.status).toBe(200);
    expect(read.body.data.data.v).toBe('new-term');
    const termAfter = await eventually(
      async () => (await api(b.url, 'GET', 'sys/key-status', { token: rootToken })).body.data.term as number,
      (term) => term === termBefore + 1,
      'B to report the new term',
    );
    expect(termAfter).toBe(termBefore + 1);

    // B writes under the new term too, and A reads it; older versions still decrypt on both.
    await vaultClient(b.url, rootToken).write('secret/data/shared/from-b-after-rotate', { data: { v: 'b-new-term' } });
    expect((await vaultClient(a.url, rootToken).read('secret/data/shared/from-b-after-rotate')).data.data.v).toBe(
      'b-new-term',
    );
    expect((await vaultClient(b.url, rootToken).read('secret/data/shared/db')).data.data.password).toBe('from-b');
    const rewrap = await api(a.url, 'POST', 'sys/rewrap', { token: rootToken });
    expect(rewrap.status).toBe(200);
    expect((await vaultClient(b.url, rootToken).read('secret/data/shared/db?version=1')).data.data.password).toBe(
      'from-a',
    );
  });

  it('uses on B a transit key created on A after a rotation', async () => {
    await vaultClient(a.url, rootToken).mount({ mount_point: 'transit', type: 'transit' });
    expect((await api(a.url, 'POST', 'sys/rotate', { token: rootToken })).status).toBe(204);
    expect((await api(a.url, 'POST', 'transit/keys/shared', { token: rootToken })).status).toBeLessThan(300);
    const plaintext = Buffer.from('wrapped-on-a').toString('base64');
    const sealed = await api(a.url, 'POST', 'transit/encrypt/shared', { token: rootToken, body: { plaintext } });
    const opened = await eventually(
      () =>
        api(b.url, 'POST', 'transit/decrypt/shared', {
          token: rootToken,
          body: { ciphertext: sealed.body.data.ciphertext },
        }),
      (res) => res.status !== 404, // the new mount reaches B's mount cache first
      'the transit mount on B',
    );
    expect(opened.status).toBe(200);
    expect(opened.body.data.plaintext).toBe(plaintext);
  });

  it("writes B's requests to an audit device enabled through A", async () => {
    expect((await api(a.url, 'PUT', 'sys/audit/db', { token: rootToken, body: { type: 'database' } })).status).toBe(
      204,
    );
    let attempt = 0;
    // Each probe reads a fresh path on B; once one is found in the shared audit table, B writes to the device.
    await eventually(
      async () => {
        const path = `secret/data/shared/audited-on-b-${attempt++}`;
        await api(b.url, 'GET', path, { token: rootToken });
        const found = await api(a.url, 'GET', `sys/audit/query?path=${path}`, { token: rootToken });
        return (found.body?.data?.entries ?? []) as unknown[];
      },
      (entries) => entries.length > 0,
      'B to audit into the device enabled on A',
    );
    // From then on, every request on B is durable in the device before B answers it.
    const path = 'secret/data/shared/audited-on-b-final';
    expect((await api(b.url, 'GET', path, { token: rootToken })).status).toBe(404);
    const entries = (await api(a.url, 'GET', `sys/audit/query?path=${path}`, { token: rootToken })).body.data
      .entries as Array<{ type: string }>;
    expect(entries.map((e) => e.type).sort()).toEqual(['request', 'response']);
    const listedOnB = await api(b.url, 'GET', 'sys/audit', { token: rootToken });
    expect(Object.keys(listedOnB.body.data)).toEqual(['db/']);
  });

  it("never prints the root token or unseal keys in either replica's logs", () => {
    for (const server of [a, b]) {
      const logs = server.stdout() + server.stderr();
      expect(logs).not.toContain(rootToken);
      for (const share of shares) expect(logs).not.toContain(share);
    }
  });
});
