import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { isStrongroomError, type ErrorKind } from '../shared/errors.js';
import { type Storage } from '../storage/database.js';
import { openStorage } from '../server/open-storage.js';
import { DEFAULT_POLICY_TEXT } from './builtin.js';
import { createPolicyService, type CachedPolicyService } from './service.js';

async function errorKind(promise: Promise<unknown>): Promise<ErrorKind | undefined> {
  try {
    await promise;
  } catch (err) {
    if (isStrongroomError(err)) return err.kind;
    throw err;
  }
  return undefined;
}

const APP = `
path "secret/data/app/*" {
  capabilities = ["read", "list"]
}
`;

describeEachEngine('policy service', (ctx) => {
  let service: CachedPolicyService;
  beforeAll(() => {
    service = createPolicyService({ storage: ctx.storage() });
  });

  it('has the default policy from the first start, with Vault default grants', async () => {
    const doc = await service.read('default');
    expect(doc.raw).toBe(DEFAULT_POLICY_TEXT);
    const acl = await service.acl(['default']);
    expect(acl.allows('auth/token/lookup-self', 'read')).toBe(true);
    expect(acl.allows('auth/token/renew-self', 'update')).toBe(true);
    expect(acl.allows('auth/token/revoke-self', 'update')).toBe(true);
    expect(acl.allows('sys/capabilities-self', 'update')).toBe(true);
    expect(acl.allows('sys/internal/ui/resultant-acl', 'read')).toBe(true);
    expect(acl.allows('cubbyhole/mine', 'create')).toBe(true);
    expect(acl.allows('secret/data/app/x', 'read')).toBe(false);
    expect(await service.list()).toEqual(expect.arrayContaining(['default', 'root']));
  });

  it('writes, reads, lists and deletes a policy, with lowercased names', async () => {
    const written = await service.write('App-Readers', APP);
    expect(written).toEqual({
      name: 'app-readers',
      rules: [{ pattern: 'secret/data/app/*', capabilities: ['read', 'list'] }],
      raw: APP,
    });
    expect(await service.read('APP-readers')).toEqual(written);
    expect(await service.list()).toEqual(['app-readers', 'default', 'root']);

    const updated = '{"path": {"secret/data/app/*": {"capabilities": ["read"]}}}';
    await service.write('app-readers', updated);
    expect((await service.read('app-readers')).raw).toBe(updated);

    await service.delete('app-readers');
    expect(await errorKind(service.read('app-readers'))).toBe('not_found');
    expect(await service.list()).toEqual(['default', 'root']);
    // Deleting what is not there succeeds, as in Vault.
    await expect(service.delete('app-readers')).resolves.toBeUndefined();
  });

  it('rejects invalid names and documents without storing anything', async () => {
    for (const name of ['', 'has space', 'slash/name', 'x'.repeat(129), 'ünïcode']) {
      expect(await errorKind(service.write(name, APP))).toBe('invalid');
    }
    expect(await errorKind(service.write('bad', 'path "a" { capabilities = ["fly"] }'))).toBe('invalid');
    expect(await errorKind(service.write('empty', '   '))).toBe('invalid');
    expect(await errorKind(service.read('bad'))).toBe('not_found');
    expect(await service.list()).toEqual(['default', 'root']);
  });

  it('protects root (never written or deleted) and default (edited, never deleted)', async () => {
    expect(await errorKind(service.write('root', APP))).toBe('invalid');
    expect(await errorKind(service.write('ROOT', APP))).toBe('invalid');
    expect(await errorKind(service.delete('root'))).toBe('invalid');
    expect(await errorKind(service.delete('default'))).toBe('invalid');
    expect(await service.read('root')).toEqual({ name: 'root', rules: [], raw: '' });

    await service.write('default', APP);
    expect((await service.acl(['default'])).allows('secret/data/app/x', 'read')).toBe(true);
    await service.write('default', DEFAULT_POLICY_TEXT);
    expect((await service.acl(['default'])).allows('secret/data/app/x', 'read')).toBe(false);
  });

  it('compiles policy sets: root grants all, unknown names are ignored, deny wins across policies', async () => {
    await service.write('readers', APP);
    await service.write('no-secrets', 'path "secret/data/app/private" { capabilities = ["deny"] }');
    const root = await service.acl(['readers', 'Root']);
    expect(root.isRoot).toBe(true);
    expect(root.allows('sys/seal', 'sudo')).toBe(true);

    const acl = await service.acl(['readers', 'no-secrets', 'does-not-exist', 'bad name!']);
    expect(acl.isRoot).toBe(false);
    expect(acl.allows('secret/data/app/public', 'read')).toBe(true);
    expect(acl.allows('secret/data/app/private', 'read')).toBe(false);

    const none = await service.acl(['does-not-exist']);
    expect(none.allows('secret/data/app/public', 'read')).toBe(false);
  });

  it('caches one compiled ACL per distinct policy set, whatever the order or case', async () => {
    await service.write('cache-a', APP);
    const first = await service.acl(['cache-a', 'default']);
    expect(await service.acl(['default', 'CACHE-A', 'cache-a'])).toBe(first);
  });

  it('drops compiled ACLs on local writes and deletes', async () => {
    await service.write('changing', 'path "kv/x" { capabilities = ["read"] }');
    expect((await service.acl(['changing'])).allows('kv/x', 'update')).toBe(false);
    await service.write('changing', 'path "kv/x" { capabilities = ["read", "update"] }');
    expect((await service.acl(['changing'])).allows('kv/x', 'update')).toBe(true);
    await service.delete('changing');
    expect((await service.acl(['changing'])).allows('kv/x', 'read')).toBe(false);
  });

  describeReplicas(ctx);
});

function describeReplicas(ctx: Parameters<Parameters<typeof describeEachEngine>[1]>[0]) {
  let otherStorage: Storage;
  beforeAll(async () => {
    otherStorage = await openStorage(ctx.config());
  });
  afterAll(async () => {
    await otherStorage.close();
  });

  it("sees another replica's writes on refresh", async () => {
    const a = createPolicyService({ storage: ctx.storage() });
    const b = createPolicyService({ storage: otherStorage });
    await b.refresh();
    expect((await b.acl(['shared'])).allows('kv/shared', 'read')).toBe(false);

    await a.write('shared', 'path "kv/shared" { capabilities = ["read"] }');
    await b.refresh();
    expect((await b.acl(['shared'])).allows('kv/shared', 'read')).toBe(true);

    await a.delete('shared');
    await b.refresh();
    expect((await b.acl(['shared'])).allows('kv/shared', 'read')).toBe(false);
  });

  it('notices other replicas by itself once the refresh interval has passed, without blocking requests', async () => {
    let now = 1_000_000;
    const a = createPolicyService({ storage: ctx.storage() });
    const b = createPolicyService({ storage: otherStorage, clock: () => now, refreshIntervalMs: 2000 });
    await b.refresh();
    expect((await b.acl(['later'])).allows('kv/later', 'read')).toBe(false);
    await a.write('later', 'path "kv/later" { capabilities = ["read"] }');

    // Within the interval the cached ACL is served without asking the database.
    now += 1000;
    expect((await b.acl(['later'])).allows('kv/later', 'read')).toBe(false);

    // After it, a request triggers a background check; a following request sees the new policy.
    now += 1500;
    await vi.waitFor(async () => {
      expect((await b.acl(['later'])).allows('kv/later', 'read')).toBe(true);
    });
  });
}
