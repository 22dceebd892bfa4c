import { createSecretKey, randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { describeEachEngine } from '../../../test/support/engines.js';
import type { Barrier } from '../../crypto/types.js';
import { unsealedManagedSealService, unsealedSealService } from '../../crypto/testing.js';
import { isStrongroomError } from '../../shared/errors.js';
import type { TokenInfo, TokenService } from '../types.js';
import { createTokenService } from './service.js';
import { errorOf } from '../../../test/support/errors.js';

const HOUR = 3600;

describeEachEngine('token service', (ctx) => {
  let barrier: Barrier;
  let now: number;
  let tokens: TokenService;
  let root: { token: string; info: TokenInfo };

  beforeAll(async () => {
    barrier = (await unsealedSealService(ctx.storage())).barrier;
  });

  beforeEach(async () => {
    now = 1_700_000_000_000;
    tokens = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => now,
      defaultTtl: 768 * HOUR,
      maxTtl: 768 * HOUR,
    });
    root = await tokens.createRoot();
  });

  const advance = (seconds: number) => {
    now += seconds * 1000;
  };

  it('mints a prefixed root token that never expires and authenticates', async () => {
    expect(root.token).toMatch(/^srs\.[A-Za-z0-9_-]{43}$/);
    const info = await tokens.authenticate(root.token);
    expect(info.policies).toEqual(['root']);
    expect(info.expireTime).toBe(0);
    expect(info.ttl).toBe(0);
    expect(info.renewable).toBe(false);
    expect(info.accessor).toBe(root.info.accessor);
  });

  it('hands back the same root token when a fixed dev token is minted twice', async () => {
    const first = await tokens.createRoot('dev-root');
    const second = await tokens.createRoot('dev-root');
    expect(second.info.accessor).toBe(first.info.accessor);
    expect((await tokens.authenticate('dev-root')).policies).toEqual(['root']);
  });

  it('revokes every other root token (--dev keeps one), orphaning their children instead of revoking them', async () => {
    const earlier = await tokens.createRoot('dev-earlier');
    const handedOut = await tokens.create(earlier.info, { policies: ['app'] });
    const rootChild = await tokens.create(earlier.info, { policies: ['root'] });
    const kept = await tokens.createRoot('dev-now');

    // This test's root and 'dev-earlier' at least (the storage is shared with earlier tests, whose roots go too).
    expect(await tokens.revokeRootTokensExcept(kept.info.accessor)).toBeGreaterThanOrEqual(2);
    for (const gone of [earlier.token, root.token]) {
      expect(isStrongroomError(await errorOf(tokens.authenticate(gone)), 'unauthenticated')).toBe(true);
    }
    expect((await tokens.authenticate('dev-now')).policies).toEqual(['root']);
    const child = await tokens.authenticate(handedOut.token);
    expect(child.policies).toEqual(['app', 'default']);
    expect(child.orphan).toBe(true);
    // A root token made as a child (auth/token/create) is the user's, not one the store minted at a start.
    expect((await tokens.authenticate(rootChild.token)).policies).toEqual(['root']);
    expect(await tokens.revokeRootTokensExcept(kept.info.accessor)).toBe(0);
  });

  it('never stores the token itself, only its HMAC', async () => {
    const child = await tokens.create(root.info, { policies: ['app'] });
    const rows = await ctx.storage().db.selectFrom('auth_tokens').selectAll().execute();
    const dump = JSON.stringify(rows);
    expect(rows.length).toBeGreaterThan(1);
    for (const secret of [root.token, child.token]) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(secret.slice(4)); // the random part without the prefix
    }
    expect(dump).toContain(child.info.accessor);
  });

  it('rejects unknown and malformed tokens with one message that echoes nothing', async () => {
    for (const bad of ['srs.nope', '', 'x'.repeat(10_000)]) {
      const err = await errorOf(tokens.authenticate(bad));
      expect(err.kind).toBe('unauthenticated');
      expect(err.message).toBe('permission denied');
    }
  });

  it('creates a child with the requested policies plus default, and looks it up by token and accessor', async () => {
    const child = await tokens.create(root.info, {
      policies: ['App', 'db'],
      ttl: HOUR,
      meta: { team: 'payments' },
      displayName: 'ci',
    });
    expect(child.info.policies).toEqual(['app', 'db', 'default']);
    expect(child.info.parentAccessor).toBe(root.info.accessor);
    expect(child.info.orphan).toBe(false);
    expect(child.info.displayName).toBe('token-ci');
    expect(child.info.expireTime).toBe(now + HOUR * 1000);
    const looked = await tokens.lookup(child.token);
    expect(looked.meta).toEqual({ team: 'payments' });
    expect(looked.ttl).toBe(HOUR);
    expect((await tokens.lookupAccessor(child.info.accessor)).policies).toEqual(['app', 'db', 'default']);
  });

  it('omits default with noDefaultPolicy and inherits the parent policies when none are asked for', async () => {
    const bare = await tokens.create(root.info, { policies: ['app'], noDefaultPolicy: true });
    expect(bare.info.policies).toEqual(['app']);
    const inherited = await tokens.create(bare.info, {});
    expect(inherited.info.policies).toEqual(['app', 'default']);
  });

  it('lets a non-root parent grant only a subset of its own policies', async () => {
    const parent = await tokens.create(root.info, { policies: ['app', 'db'] });
    const ok = await tokens.create(parent.info, { policies: ['db'] });
    expect(ok.info.policies).toEqual(['db', 'default']);
    const err = await errorOf(tokens.create(parent.info, { policies: ['db', 'admin'] }));
    expect(err.kind).toBe('forbidden');
    expect(err.message).toContain('admin');
    expect((await errorOf(tokens.create(parent.info, { policies: ['root'] }))).kind).toBe('forbidden');
  });

  it('lets only root or sudo callers create orphans (no_parent) and periodic tokens', async () => {
    const parent = await tokens.create(root.info, { policies: ['app'] });
    const noParent = await errorOf(tokens.create(parent.info, { noParent: true }));
    expect(noParent).toMatchObject({
      kind: 'forbidden',
      message: 'root or sudo privileges required to create orphan token',
    });
    // Being on create-orphan is not enough by itself: the service still wants sudo for no_parent.
    expect((await errorOf(tokens.create(parent.info, { noParent: true }, { orphan: true }))).kind).toBe('forbidden');
    const periodic = await errorOf(tokens.create(parent.info, { period: 3600 }));
    expect(periodic).toMatchObject({
      kind: 'forbidden',
      message: 'root or sudo privileges required to create periodic token',
    });

    const orphan = await tokens.create(parent.info, { noParent: true }, { sudo: true });
    expect(orphan.info.orphan).toBe(true);
    expect(orphan.info.parentAccessor).toBeNull();
    const viaCreateOrphan = await tokens.create(parent.info, {}, { orphan: true, sudo: true });
    expect(viaCreateOrphan.info.orphan).toBe(true);
    expect((await tokens.create(parent.info, { period: 3600 }, { sudo: true })).info.period).toBe(3600);
    expect((await tokens.create(root.info, { noParent: true, period: 60 })).info.orphan).toBe(true);
  });

  it('refuses any child of a use-limited token, which would otherwise escape the limit', async () => {
    const limited = await tokens.create(root.info, { policies: ['app'], numUses: 5 });
    const info = await tokens.authenticate(limited.token);
    expect(info.numUses).toBe(4);
    for (const options of [undefined, { sudo: true }, { orphan: true, sudo: true }]) {
      const err = await errorOf(tokens.create(info, {}, options));
      expect(err).toMatchObject({ kind: 'forbidden', message: 'restricted use token cannot generate child tokens' });
    }
    // Even a stale snapshot that shows no limit does not help: the stored row decides.
    expect((await errorOf(tokens.create({ ...info, numUses: 0 }, {}))).kind).toBe('forbidden');
  });

  it('refuses a never-expiring root token from an expiring root parent', async () => {
    const expiring = await tokens.create(root.info, { policies: ['root'], ttl: 3600 });
    const err = await errorOf(tokens.create(expiring.info, { policies: ['root'], noParent: true }));
    expect(err).toMatchObject({
      kind: 'forbidden',
      message: 'expiring root tokens cannot create non-expiring root tokens',
    });
    expect((await tokens.create(expiring.info, { policies: ['root'], noParent: true, ttl: 60 })).info.ttl).toBe(60);
    // A child (not orphan) of the expiring root inherits its hard limit, so it expires too.
    expect((await tokens.create(expiring.info, { policies: ['root'] })).info.expireTime).toBeGreaterThan(0);
  });

  it('revokes a token together with all its descendants', async () => {
    const a = await tokens.create(root.info, { policies: ['app'] });
    const b = await tokens.create(a.info, {});
    const c = await tokens.create(b.info, {});
    const d = await tokens.create(a.info, {});
    const sibling = await tokens.create(root.info, { policies: ['app'] });
    await tokens.authenticate(c.token); // warm the cache: local revocation must evict it
    await tokens.revoke(a.token);
    for (const gone of [a, b, c, d])
      expect((await errorOf(tokens.authenticate(gone.token))).kind).toBe('unauthenticated');
    expect((await tokens.authenticate(sibling.token)).accessor).toBe(sibling.info.accessor);
    expect((await tokens.authenticate(root.token)).accessor).toBe(root.info.accessor);
  });

  it('revokes deep and wide trees in one go', async () => {
    const top = await tokens.create(root.info, { policies: ['app'] });
    let parent = top.info;
    const deep: string[] = [];
    for (let i = 0; i < 150; i++) {
      const next = await tokens.create(parent, {});
      deep.push(next.token);
      parent = next.info;
    }
    const wide = await Promise.all(Array.from({ length: 200 }, () => tokens.create(top.info, {})));
    await tokens.revokeAccessor(top.info.accessor);
    const left = await ctx
      .storage()
      .db.selectFrom('auth_tokens')
      .select('accessor')
      .where('accessor', 'in', [parent.accessor, ...wide.map((w) => w.info.accessor)])
      .execute();
    expect(left).toEqual([]);
    expect((await errorOf(tokens.authenticate(deep[75]!))).kind).toBe('unauthenticated');
  });

  it('keeps orphaned children alive when only the parent is revoked', async () => {
    const parent = await tokens.create(root.info, { policies: ['app'] });
    const child = await tokens.create(parent.info, {});
    const grandchild = await tokens.create(child.info, {});
    await tokens.revokeOrphan(parent.token);
    expect((await errorOf(tokens.authenticate(parent.token))).kind).toBe('unauthenticated');
    const survivor = await tokens.authenticate(child.token);
    expect(survivor.orphan).toBe(true);
    expect(survivor.parentAccessor).toBeNull();
    expect((await tokens.authenticate(grandchild.token)).parentAccessor).toBe(child.info.accessor);
  });

  it('keeps an orphan token alive when its creator is revoked', async () => {
    const creator = await tokens.create(root.info, { policies: ['app'] });
    const orphan = await tokens.create(creator.info, { policies: ['app'] }, { orphan: true });
    await tokens.revoke(creator.token);
    expect((await tokens.authenticate(orphan.token)).orphan).toBe(true);
  });

  it('allows exactly num_uses authentications, then the token is revoked', async () => {
    const limited = await tokens.create(root.info, { policies: ['app'], numUses: 2 });
    expect((await tokens.authenticate(limited.token)).numUses).toBe(1);
    expect((await tokens.authenticate(limited.token)).numUses).toBe(-1);
    expect((await errorOf(tokens.authenticate(limited.token))).kind).toBe('unauthenticated');
    expect(
      await ctx
        .storage()
        .db.selectFrom('auth_tokens')
        .select('hash')
        .where('accessor', '=', limited.info.accessor)
        .execute(),
    ).toEqual([]);
  });

  it('counts uses atomically under concurrency', async () => {
    const limited = await tokens.create(root.info, { policies: ['app'], numUses: 3 });
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => tokens.authenticate(limited.token)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  });

  it('expires tokens on the injected clock and removes them', async () => {
    const short = await tokens.create(root.info, { policies: ['app'], ttl: 10 });
    expect((await tokens.authenticate(short.token)).ttl).toBe(10);
    advance(9);
    expect((await tokens.authenticate(short.token)).ttl).toBe(1);
    advance(1);
    expect((await errorOf(tokens.authenticate(short.token))).kind).toBe('unauthenticated');
    expect((await errorOf(tokens.lookupAccessor(short.info.accessor))).kind).toBe('invalid');
  });

  it('renews within the explicit max TTL and no further', async () => {
    const t = await tokens.create(root.info, { policies: ['app'], ttl: 60, explicitMaxTtl: 100 });
    advance(50);
    const renewed = await tokens.renew(t.token, 60);
    expect(renewed.expireTime).toBe(t.info.creationTime + 100_000);
    expect(renewed.ttl).toBe(50);
    advance(30);
    expect((await tokens.renewAccessor(t.info.accessor)).ttl).toBe(20); // own TTL 60 s, capped at the max
    advance(20);
    expect((await errorOf(tokens.authenticate(t.token))).kind).toBe('unauthenticated');
  });

  it('caps TTLs at the system max and refuses to renew a non-renewable token', async () => {
    const long = await tokens.create(root.info, { policies: ['app'], ttl: 10_000 * HOUR });
    expect(long.info.creationTtl).toBe(768 * HOUR);
    const fixed = await tokens.create(root.info, { policies: ['app'], ttl: 60, renewable: false });
    expect((await errorOf(tokens.renew(fixed.token, 60))).kind).toBe('invalid');
  });

  it('renews periodic tokens to their period indefinitely', async () => {
    const periodic = await tokens.create(root.info, { policies: ['app'], period: 60 });
    expect(periodic.info.ttl).toBe(60);
    for (let i = 0; i < 5; i++) {
      advance(50);
      const renewed = await tokens.renew(periodic.token, 3600);
      expect(renewed.ttl).toBe(60);
    }
    advance(800 * HOUR); // beyond the system max, but periodic tokens only need renewing
    expect((await errorOf(tokens.authenticate(periodic.token))).kind).toBe('unauthenticated');
  });

  it('caps a child at its parent hard limit and revokes it with an expired parent', async () => {
    const parent = await tokens.create(root.info, { policies: ['app'], ttl: 100, explicitMaxTtl: 100 });
    const child = await tokens.create(parent.info, { ttl: 1000 });
    expect(child.info.expireTime).toBe(parent.info.expireTime);
    const sibling = await tokens.create(root.info, { policies: ['app'], ttl: 30 });
    const nephew = await tokens.create(sibling.info, { ttl: 1000 });
    advance(31);
    // The nephew's own TTL is fine, but its parent has expired: it goes with it.
    expect((await errorOf(tokens.authenticate(nephew.token))).kind).toBe('unauthenticated');
    expect((await tokens.authenticate(child.token)).ttl).toBe(69);
  });

  it('does not let a child of an expired parent be renewed or looked up by accessor as if alive', async () => {
    const parent = await tokens.create(root.info, { policies: ['app'], ttl: 30 });
    const child = await tokens.create(parent.info, { ttl: 1000 });
    advance(31);
    expect((await errorOf(tokens.renewAccessor(child.info.accessor, 1000))).message).toBe('invalid accessor');
    expect((await errorOf(tokens.lookupAccessor(child.info.accessor))).message).toBe('invalid accessor');
    expect((await errorOf(tokens.authenticate(child.token))).kind).toBe('unauthenticated');
  });

  it('tidies expired tokens and their descendants', async () => {
    const a = await tokens.create(root.info, { policies: ['app'], ttl: 5 });
    await tokens.create(a.info, { ttl: 1 });
    const keep = await tokens.create(root.info, { policies: ['app'], ttl: 3600 });
    advance(10);
    expect(await tokens.tidy()).toBeGreaterThanOrEqual(2);
    const left = await ctx
      .storage()
      .db.selectFrom('auth_tokens')
      .select('accessor')
      .where('accessor', '=', a.info.accessor)
      .execute();
    expect(left).toEqual([]);
    expect((await tokens.authenticate(keep.token)).accessor).toBe(keep.info.accessor);
  });

  it('issues login tokens as orphans with the method metadata and refuses root policies', async () => {
    const issued = await tokens.issue({
      authMethod: 'approle',
      path: 'auth/approle/login',
      policies: ['ci'],
      meta: { role_name: 'ci' },
      displayName: 'approle-ci',
      ttl: 600,
    });
    expect(issued.info).toMatchObject({
      authMethod: 'approle',
      orphan: true,
      policies: ['ci', 'default'],
      meta: { role_name: 'ci' },
    });
    expect(
      (await errorOf(tokens.issue({ authMethod: 'approle', path: 'auth/approle/login', policies: ['root'] }))).kind,
    ).toBe('invalid');
  });

  it('is revoked everywhere within the cache window when another replica revokes it', async () => {
    const other = createTokenService({
      storage: ctx.storage(),
      barrier,
      clock: () => now,
      defaultTtl: HOUR,
      maxTtl: HOUR,
    });
    const t = await tokens.create(root.info, { policies: ['app'] });
    await tokens.authenticate(t.token);
    await other.revoke(t.token);
    advance(2); // past the 1 s cache window
    expect((await errorOf(tokens.authenticate(t.token))).kind).toBe('unauthenticated');
  });

  it('rejects negative or fractional TTLs and use counts', async () => {
    expect((await errorOf(tokens.create(root.info, { ttl: -1 }))).kind).toBe('invalid');
    expect((await errorOf(tokens.create(root.info, { numUses: 1.5 }))).kind).toBe('invalid');
    expect((await errorOf(tokens.create(root.info, { period: Number.NaN }))).kind).toBe('invalid');
  });

  it('answers sealed, not "invalid token", while the barrier is sealed', async () => {
    const sealed = createTokenService({
      storage: ctx.storage(),
      barrier: {
        isSealed: () => true,
        hmacKey: () => {
          throw new Error('sealed');
        },
        onSeal: () => () => undefined,
      },
      defaultTtl: HOUR,
      maxTtl: HOUR,
    });
    expect(isStrongroomError(await errorOf(sealed.authenticate(root.token)), 'sealed')).toBe(true);
  });

  it('lets go of the token-hash key at the seal itself, not at the next hash (which an idle server never makes)', async () => {
    // A store of its own (a second "replica" on the same database), so sealing it leaves the other tests' barrier be.
    const seal = await unsealedManagedSealService(ctx.storage());
    const own = createTokenService({ storage: ctx.storage(), barrier: seal.barrier, defaultTtl: HOUR, maxTtl: HOUR });
    const minted = await own.createRoot();
    await own.authenticate(minted.token);
    // The key object the keyring handed out (the same one for the whole unseal), watched without holding it.
    const key = new WeakRef(seal.barrier.hmacKey('token-hash'));
    await seal.seal();
    await collectGarbage();
    // The keyring dropped its reference at the seal; nothing in the token service may still hold one.
    expect(key.deref()).toBeUndefined();
    await seal.close();
  });

  it('hashes a presented token with the key of the current unseal, never a remembered hash from an earlier key', async () => {
    // The token's hash is remembered between requests (shared/hmac-memo.ts); a new key must make it count for nothing.
    const keyA = createSecretKey(randomBytes(32));
    const keyB = createSecretKey(randomBytes(32));
    let sealed = false;
    let key = keyA;
    const switching = createTokenService({
      storage: ctx.storage(),
      barrier: { isSealed: () => sealed, hmacKey: () => key, onSeal: () => () => undefined },
      clock: () => now,
      defaultTtl: HOUR,
      maxTtl: HOUR,
    });
    const minted = await switching.createRoot('srs.key-switch-token');
    expect((await switching.authenticate(minted.token)).accessor).toBe(minted.info.accessor);
    expect((await switching.authenticate(minted.token)).accessor).toBe(minted.info.accessor);

    key = keyB; // a different key: the stored hash (made with A) no longer matches
    advance(2); // past the 1 s authenticate cache
    expect((await errorOf(switching.authenticate(minted.token))).kind).toBe('unauthenticated');

    sealed = true;
    expect(isStrongroomError(await errorOf(switching.authenticate(minted.token)), 'sealed')).toBe(true);
    sealed = false;
    key = keyA;
    advance(2);
    expect((await switching.authenticate(minted.token)).accessor).toBe(minted.info.accessor);
  });
});

/** A full collection, after the current job (a WeakRef keeps its target alive until the job that made it ends). */
async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}
