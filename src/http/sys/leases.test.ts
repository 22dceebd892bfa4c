import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLeaseProbe, leaseTestEngine, type LeaseProbe } from '../../../test/support/lease-engine.js';
import { createPipelineHarness, errorsOf, type PipelineHarness } from '../../../test/support/pipeline-harness.js';

describe('sys/leases over the pipeline', () => {
  let h: PipelineHarness;
  let probe: LeaseProbe;

  beforeEach(async () => {
    probe = createLeaseProbe();
    h = await createPipelineHarness({ extraSecrets: [leaseTestEngine(probe)] });
    await h.mounts.enable({ path: 'dyn/', type: 'leasetest' });
  });
  afterEach(() => h.close());

  const issue = async (name = 'app', query: Record<string, string> = {}, token = h.rootToken) => {
    const reply = await h.request('GET', `dyn/creds/${name}`, { token, query });
    expect(reply.status).toBe(200);
    return reply.body as { lease_id: string; lease_duration: number; renewable: boolean };
  };

  it("a dynamic secret's envelope carries its lease, and the audit entry records the lease, never the data in clear", async () => {
    const body = await issue('app', { ttl: '120' });
    expect(body.lease_id).toMatch(/^dyn\/creds\/app\/[A-Za-z0-9]{24}$/);
    expect(body.lease_duration).toBe(120);
    expect(body.renewable).toBe(true);
    const response = h.audit.entries.find((e) => e.type === 'response' && e.request.path === 'dyn/creds/app');
    expect(response?.response?.secret).toEqual({ lease_id: body.lease_id, ttl: 120, renewable: true });
    expect(JSON.stringify(response?.response?.secret)).not.toContain('not-a-real-password');
  });

  it('lookup answers Vault fields; an unknown lease is 400 "invalid lease"; no id is "lease_id must be specified"', async () => {
    const { lease_id } = await issue('app', { ttl: '120' });
    const reply = await h.request('PUT', 'sys/leases/lookup', { token: h.rootToken, body: { lease_id } });
    expect(reply.status).toBe(200);
    const data = (reply.body as { data: Record<string, unknown> }).data;
    expect(Object.keys(data).sort()).toEqual(['expire_time', 'id', 'issue_time', 'last_renewal', 'renewable', 'ttl']);
    expect(data).toMatchObject({ id: lease_id, renewable: true, last_renewal: null, ttl: 120 });
    const unknown = await h.request('PUT', 'sys/leases/lookup', { token: h.rootToken, body: { lease_id: 'dyn/x/y' } });
    expect(unknown.status).toBe(400);
    expect(errorsOf(unknown)).toEqual(['invalid lease']);
    const none = await h.request('PUT', 'sys/leases/lookup', { token: h.rootToken, body: {} });
    expect(errorsOf(none)).toEqual(['lease_id must be specified']);
  });

  it('LIST sys/leases/lookup/<prefix> lists ids and sub-prefixes (sudo); an empty prefix is 404', async () => {
    const a = await issue('app');
    await issue('app');
    await issue('other');
    const reply = await h.request('LIST', 'sys/leases/lookup/dyn/creds/', { token: h.rootToken });
    expect((reply.body as { data: { keys: string[] } }).data.keys).toEqual(['app/', 'other/']);
    const under = await h.request('LIST', 'sys/leases/lookup/dyn/creds/app', { token: h.rootToken });
    const keys = (under.body as { data: { keys: string[] } }).data.keys;
    expect(keys).toHaveLength(2);
    expect(keys).toContain(a.lease_id.slice('dyn/creds/app/'.length));
    expect((await h.request('LIST', 'sys/leases/lookup/nothing/', { token: h.rootToken })).status).toBe(404);
    const noSudo = await h.tokenWithPolicy('path "sys/leases/lookup/*" { capabilities = ["list"] }');
    expect((await h.request('LIST', 'sys/leases/lookup/dyn/', { token: noSudo })).status).toBe(403);
  });

  it('renew extends by the increment, calls the engine, caps at the max with the warning; URL id works too', async () => {
    const { lease_id } = await issue('app', { ttl: '60', max_ttl: '300' });
    const reply = await h.request('PUT', 'sys/leases/renew', {
      token: h.rootToken,
      body: { lease_id, increment: '120s' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ lease_id, lease_duration: 120, renewable: true, data: null, warnings: null });
    expect(probe.renewed.map((r) => r.id)).toEqual([lease_id]);
    expect(probe.renewed[0]!.internal).toEqual({ username: 'user-app' });
    const capped = await h.request('PUT', `sys/leases/renew/${lease_id}`, {
      token: h.rootToken,
      body: { increment: 3600 },
    });
    expect(capped.body).toMatchObject({ lease_id, lease_duration: 300 });
    expect((capped.body as { warnings: string[] }).warnings).toEqual([
      'TTL of "1h0m0s" exceeded the effective max_ttl of "5m0s"; TTL value is capped accordingly',
    ]);
    const looked = await h.request('PUT', 'sys/leases/lookup', { token: h.rootToken, body: { lease_id } });
    expect((looked.body as { data: { last_renewal: unknown } }).data.last_renewal).not.toBeNull();
  });

  it('a renewal the engine cannot make is 400 "failed to renew entry" and leaves the lease as it was', async () => {
    const { lease_id } = await issue('app', { ttl: '60', max_ttl: '300' });
    const before = await h.request('PUT', 'sys/leases/lookup', { token: h.rootToken, body: { lease_id } });
    probe.failRenew = true;
    const reply = await h.request('PUT', 'sys/leases/renew', {
      token: h.rootToken,
      body: { lease_id, increment: 120 },
    });
    probe.failRenew = false;
    expect(reply.status).toBe(400);
    expect(errorsOf(reply)).toEqual(['failed to renew entry: unavailable: test engine: backend is down']);
    const after = await h.request('PUT', 'sys/leases/lookup', { token: h.rootToken, body: { lease_id } });
    // The same expiry and no renewal recorded (ttl is not compared: it counts down between the two lookups).
    const { ttl: _before, ...unchanged } = (before.body as { data: Record<string, unknown> }).data;
    expect((after.body as { data: Record<string, unknown> }).data).toMatchObject({ ...unchanged, last_renewal: null });
  });

  it('renew refuses a lease that is not renewable and one that does not exist, in Vault words', async () => {
    const { lease_id } = await issue('app', { renewable: 'false' });
    const reply = await h.request('PUT', 'sys/leases/renew', { token: h.rootToken, body: { lease_id } });
    expect(reply.status).toBe(400);
    expect(errorsOf(reply)).toEqual(['lease is not renewable']);
    const missing = await h.request('PUT', 'sys/leases/renew', { token: h.rootToken, body: { lease_id: 'dyn/no' } });
    expect(errorsOf(missing)).toEqual(['lease not found']);
  });

  it('revoke ends the credential then forgets the lease; a failing engine is an error and the lease stays', async () => {
    const { lease_id } = await issue('app');
    probe.failRevoke = true;
    const failed = await h.request('PUT', 'sys/leases/revoke', { token: h.rootToken, body: { lease_id } });
    expect(failed.status).toBe(400);
    expect(String((errorsOf(failed) as string[])[0])).toContain('failed to revoke entry');
    expect(await h.leases.lookup(lease_id)).toMatchObject({ id: lease_id });
    probe.failRevoke = false;
    const ok = await h.request('PUT', `sys/leases/revoke/${lease_id}`, { token: h.rootToken });
    expect(ok.status).toBe(204);
    expect(probe.revoked).toEqual([lease_id]);
    await expect(h.leases.lookup(lease_id)).rejects.toThrow('invalid lease');
    // Revoking what is gone is not an error (Vault).
    expect((await h.request('PUT', 'sys/leases/revoke', { token: h.rootToken, body: { lease_id } })).status).toBe(204);
  });

  it('revoke-prefix and revoke-force need sudo; the prefix is a path (app does not match app2)', async () => {
    const a1 = await issue('app');
    const a2 = await issue('app');
    const other = await issue('app2');
    const noSudo = await h.tokenWithPolicy('path "sys/leases/*" { capabilities = ["update"] }');
    expect((await h.request('PUT', 'sys/leases/revoke-prefix/dyn/creds/app', { token: noSudo })).status).toBe(403);
    expect((await h.request('PUT', 'sys/leases/revoke-prefix/dyn/creds/app', { token: h.rootToken })).status).toBe(204);
    expect(probe.revoked.sort()).toEqual([a1.lease_id, a2.lease_id].sort());
    probe.failRevoke = true;
    expect((await h.request('PUT', 'sys/leases/revoke-prefix/dyn/creds/app2', { token: h.rootToken })).status).toBe(
      400,
    );
    expect((await h.request('PUT', 'sys/leases/revoke-force/dyn/creds/app2', { token: h.rootToken })).status).toBe(204);
    await expect(h.leases.lookup(other.lease_id)).rejects.toThrow('invalid lease');
  });

  it('revoking a token makes its leases due; the expiration manager revokes them, audited as system:lease-expiration', async () => {
    const token = await h.tokenWithPolicy('path "dyn/*" { capabilities = ["read"] }');
    const mine = await issue('app', { ttl: '3600' }, token);
    const other = await issue('app', { ttl: '3600' });
    h.audit.clear();
    expect((await h.request('PUT', 'auth/token/revoke', { token: h.rootToken, body: { token } })).status).toBe(204);
    h.leaseWiring.startExpiration({ info: () => undefined, error: () => undefined }, () => false);
    await h.leaseWiring.expiration()!.runOnce();
    expect(probe.revoked).toEqual([mine.lease_id]);
    await expect(h.leases.lookup(other.lease_id)).resolves.toMatchObject({ id: other.lease_id });
    const system = h.audit.entries.filter((e) => e.auth?.display_name === 'system:lease-expiration');
    expect(system.map((e) => e.type)).toEqual(['request', 'response']);
    expect(system[0]!.request).toMatchObject({ path: 'sys/leases/revoke', data: { lease_id: mine.lease_id } });
  });

  it('disabling a mount revokes its leases first, and is refused while one cannot be revoked', async () => {
    const { lease_id } = await issue('app');
    probe.failRevoke = true;
    const refused = await h.request('DELETE', 'sys/mounts/dyn', { token: h.rootToken });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect((await h.mounts.list()).some((m) => m.path === 'dyn/')).toBe(true);
    probe.failRevoke = false;
    expect((await h.request('DELETE', 'sys/mounts/dyn', { token: h.rootToken })).status).toBe(204);
    expect(probe.revoked).toContain(lease_id);
  });

  it('the legacy sys/renew and sys/revoke paths answer as sys/leases', async () => {
    const { lease_id } = await issue('app');
    const renewed = await h.request('PUT', `sys/renew/${lease_id}`, { token: h.rootToken });
    expect(renewed.body).toMatchObject({ lease_id, lease_duration: 60 });
    expect((await h.request('PUT', 'sys/revoke', { token: h.rootToken, body: { lease_id } })).status).toBe(204);
    expect(probe.revoked).toEqual([lease_id]);
  });

  it('metrics count leases by state and revocations, and never name a lease', async () => {
    const { lease_id } = await issue('app', { ttl: '100' });
    await issue('app', { ttl: '100' });
    await h.request('PUT', 'sys/leases/revoke', { token: h.rootToken, body: { lease_id } });
    probe.failRevoke = true;
    const failing = await issue('other', { ttl: '100' });
    await h.request('PUT', 'sys/leases/revoke', { token: h.rootToken, body: { lease_id: failing.lease_id } });
    const text = await h.deps.metrics.registry.metrics();
    expect(text).toContain('strongroom_leases{state="active"} 1');
    expect(text).toContain('strongroom_leases{state="failing"} 1');
    expect(text).toContain('strongroom_lease_revocations_total 1');
    expect(text).toContain('strongroom_lease_revocation_failures_total 1');
    expect(text).toMatch(/strongroom_leases_next_expiry_seconds \d/);
    expect(text).toMatch(/strongroom_leases_created_total\{engine="[a-z-]+"\} 3/);
    expect(text).not.toContain('dyn/creds');
  });

  it('a queued revocation (sync false) answers 202 and the expiration manager ends it; tidy answers 202', async () => {
    const { lease_id } = await issue('app');
    const queued = await h.request('PUT', 'sys/leases/revoke', { token: h.rootToken, body: { lease_id, sync: false } });
    expect(queued.status).toBe(202);
    const renew = await h.request('PUT', 'sys/leases/renew', { token: h.rootToken, body: { lease_id } });
    expect(errorsOf(renew)).toEqual(['lease is being revoked']);
    h.leaseWiring.startExpiration({ info: () => undefined, error: () => undefined }, () => false);
    await h.leaseWiring.expiration()!.runOnce();
    expect(probe.revoked).toEqual([lease_id]);
    const prefix = await h.request('PUT', 'sys/leases/revoke-prefix/dyn/', {
      token: h.rootToken,
      body: { sync: false },
    });
    expect(prefix.status).toBe(202);
    const tidy = await h.request('PUT', 'sys/leases/tidy', { token: h.rootToken });
    expect(tidy.status).toBe(202);
    expect((tidy.body as { warnings: string[] }).warnings[0]).toContain('removed 0 lease(s)');
  });

  it('a lease whose revocation keeps failing cannot be renewed, in Vault words', async () => {
    const { lease_id } = await issue('app');
    probe.failRevoke = true;
    await h.request('PUT', 'sys/leases/revoke', { token: h.rootToken, body: { lease_id } });
    const renew = await h.request('PUT', `sys/leases/renew/${lease_id}`, { token: h.rootToken });
    expect(errorsOf(renew)).toEqual(['lease is expired and has failed previous revocation attempts']);
  });
});
