import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLeaseProbe, leaseTestEngine, type LeaseProbe } from '../../test/support/lease-engine.js';
import { createPipelineHarness, type PipelineHarness } from '../../test/support/pipeline-harness.js';
import { buildApp } from '../http/app.js';
import { main } from './main.js';

/** `strongroom lease ...` against the real HTTP app over the pipeline harness (a test engine issues the leases). */
describe('strongroom lease', () => {
  let h: PipelineHarness;
  let probe: LeaseProbe;
  let app: FastifyInstance;
  let address: string;

  beforeAll(async () => {
    probe = createLeaseProbe();
    h = await createPipelineHarness({ extraSecrets: [leaseTestEngine(probe)] });
    await h.mounts.enable({ path: 'dyn/', type: 'leasetest' });
    app = await buildApp(h.deps, { logger: false, bodyLimit: 1024 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    address = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await h.close();
  });

  async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
    let out = '';
    let err = '';
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((err += String(chunk)), true));
    process.exitCode = 0;
    try {
      await main(['node', 'strongroom', ...args, '--address', address, '--token', h.rootToken]);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { out, err, code };
  }

  const issue = async (query: Record<string, string> = {}) =>
    ((await h.request('GET', 'dyn/creds/app', { token: h.rootToken, query })).body as { lease_id: string }).lease_id;

  it("lookup prints Vault's rows, and -o json the API's data", async () => {
    const id = await issue({ ttl: '600' });
    const table = await run('lease', 'lookup', id);
    expect(table.code).toBe(0);
    for (const key of ['expire_time', 'issue_time', 'last_renewal', 'renewable', 'ttl'])
      expect(table.out).toContain(key);
    expect(table.out).toContain('<nil>');
    expect(table.out).toMatch(/10m0s|9m5\ds/);
    const json = JSON.parse((await run('lease', 'lookup', id, '-o', 'json')).out) as Record<string, unknown>;
    expect(json).toMatchObject({ id, renewable: true, last_renewal: null });
  });

  it("renew takes --increment or Vault's -increment=, and prints lease_duration", async () => {
    const id = await issue({ ttl: '60', max_ttl: '3600' });
    const json = JSON.parse((await run('lease', 'renew', '-increment=30m', id, '-o', 'json')).out) as Record<
      string,
      unknown
    >;
    expect(json).toEqual({ lease_id: id, lease_duration: 1800, renewable: true });
    const table = await run('lease', 'renew', '--increment', '2h', id);
    expect(table.out).toContain('lease_duration');
    expect(table.out).toContain('1h0m0s');
    expect(table.err).toContain('capped');
  });

  it('revoke: queued by default, --sync waits, -prefix revokes a path, --force needs --prefix', async () => {
    const a = await issue();
    expect((await run('lease', 'revoke', '--sync', a)).out).toContain(`Success! Revoked lease: ${a}`);
    expect(probe.revoked).toContain(a);
    const b = await issue();
    expect((await run('lease', 'revoke', b)).out).toContain('All revocation operations queued successfully!');
    const c = await issue();
    expect((await run('lease', 'revoke', '-prefix', '-sync', 'dyn/creds/app')).out).toContain(
      'Success! Revoked any leases with prefix: dyn/creds/app',
    );
    expect(probe.revoked).toContain(c);
    const usage = await run('lease', 'revoke', '--force', 'dyn/creds/app');
    expect(usage.code).toBe(2);
    probe.failRevoke = true;
    const d = await issue();
    const forced = await run('lease', 'revoke', '-force', '-prefix', 'dyn/creds/app');
    expect(forced.out).toContain('Success! Force revoked any leases with prefix: dyn/creds/app');
    probe.failRevoke = false;
    await expect(h.leases.lookup(d)).rejects.toThrow('invalid lease');
  });

  it('an unknown lease is a one-line error and exit 1', async () => {
    const result = await run('lease', 'lookup', 'dyn/creds/app/nope');
    expect(result.code).toBe(1);
    expect(result.err).toContain('invalid lease');
  });
});
