import { describe, expect, it, vi } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { rejection } from '../kv/test-helpers.js';
import { normalizeMountPath } from './paths.js';
import { secretsCatalog } from '../server/modules.js';
import { createMountService } from './service.js';

describe('normalizeMountPath', () => {
  it('adds the trailing slash and drops a leading one', () => {
    expect(normalizeMountPath('secret')).toBe('secret/');
    expect(normalizeMountPath('/team/a/kv/')).toBe('team/a/kv/');
  });
  it.each([
    ['', 'mount_path_empty'],
    ['a//b', 'mount_path_empty_segment'],
    ['a/../b', 'mount_path_dot_segment'],
    ['a b', 'mount_path_bad_char'],
    ['sys', 'mount_path_reserved'],
    ['auth/kv', 'mount_path_reserved'],
    ['cubbyhole/', 'mount_path_reserved'],
    ['identity/x', 'mount_path_reserved'],
  ])('rejects %j (%s)', async (path, reason) => {
    await rejection(
      Promise.resolve().then(() => normalizeMountPath(path)),
      'invalid',
      reason,
    );
  });
  it('allows names that merely start like a reserved prefix', () => {
    expect(normalizeMountPath('system')).toBe('system/');
  });
});

describeEachEngine('mount service', (ctx) => {
  it('enables a kv mount with a UUID, a kv_ accessor and version 2 options, and lists it', async () => {
    const mounts = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    const m = await mounts.enable({ path: 'enable-me', type: 'kv', description: 'app secrets' });
    // A kv mount without a version is version 1, as in Vault.
    expect(m).toMatchObject({ path: 'enable-me/', type: 'kv', description: 'app secrets', options: { version: '1' } });
    expect(m.accessor).toMatch(/^kv_[0-9a-f]{8}$/);
    expect(m.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await mounts.list()).find((x) => x.path === 'enable-me/')).toEqual(m);
    expect((await mounts.enable({ path: 'v2', type: 'kv', options: { version: '2' } })).options).toEqual({
      version: '2',
    });
    await rejection(mounts.enable({ path: 'v3', type: 'kv', options: { version: '3' } }), 'invalid', 'kv_version');
    await rejection(mounts.enable({ path: 'weird', type: 'nope' as never }), 'invalid', 'mount_type');
  });

  it('upgrades a kv mount from version 1 to 2 through its options, and never back', async () => {
    const mounts = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    const m = await mounts.enable({ path: 'upgrade-me', type: 'kv', options: { version: '1' } });
    expect((await mounts.resolve('upgrade-me/a'))?.mount.options.version).toBe('1');
    const tuned = await mounts.tuneOptions('upgrade-me', { version: '2' });
    expect(tuned).toMatchObject({ mount: { uuid: m.uuid, options: { version: '2' } }, changed: ['version'] });
    // The routing table sees the new version at once (the uuid, which ciphertexts are bound to, is unchanged).
    expect((await mounts.resolve('upgrade-me/a'))?.mount).toMatchObject({ uuid: m.uuid, options: { version: '2' } });
    expect((await mounts.tuneOptions('upgrade-me/', { version: '2' })).changed).toEqual([]);
    await rejection(mounts.tuneOptions('upgrade-me', { version: '1' }), 'invalid', 'kv_downgrade');
    await rejection(mounts.tuneOptions('upgrade-me', { version: '7' }), 'invalid', 'kv_version');
    await rejection(mounts.tuneOptions('not-there', { version: '2' }), 'not_found');
    expect((await mounts.list()).find((x) => x.path === 'upgrade-me/')?.options).toEqual({ version: '2' });
  });

  it('refuses nested or overlapping mounts in either direction', async () => {
    const mounts = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    await mounts.enable({ path: 'outer/inner', type: 'kv' });
    const same = await rejection(mounts.enable({ path: 'outer/inner/', type: 'kv' }), 'invalid', 'mount_path_in_use');
    expect(same.details?.existing).toBe('outer/inner/');
    await rejection(mounts.enable({ path: 'outer', type: 'kv' }), 'invalid', 'mount_path_in_use');
    await rejection(mounts.enable({ path: 'outer/inner/deeper', type: 'transit' }), 'invalid', 'mount_path_in_use');
    await expect(mounts.enable({ path: 'outer/inner2', type: 'kv' })).resolves.toMatchObject({ path: 'outer/inner2/' });
  });

  it('resolves the longest matching mount and the rest of the path', async () => {
    const mounts = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    await mounts.enable({ path: 'res', type: 'kv' });
    await mounts.enable({ path: 'resx/deep', type: 'transit' });
    expect(await mounts.resolve('res/data/app/db')).toMatchObject({ mount: { path: 'res/' }, rest: 'data/app/db' });
    expect(await mounts.resolve('resx/deep/keys/k')).toMatchObject({ mount: { path: 'resx/deep/' }, rest: 'keys/k' });
    expect(await mounts.resolve('res')).toMatchObject({ mount: { path: 'res/' }, rest: '' });
    expect(await mounts.resolve('resx/other')).toBeNull();
    expect(await mounts.resolve('re')).toBeNull();
  });

  it('disable runs the purge hooks of that engine, forgets the mount, and is idempotent', async () => {
    const mounts = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    const kvPurge = vi.fn(async () => undefined);
    const transitPurge = vi.fn(async () => undefined);
    mounts.onDisable('kv', kvPurge);
    mounts.onDisable('transit', transitPurge);
    const m = await mounts.enable({ path: 'doomed', type: 'kv' });
    expect(await mounts.resolve('doomed/data/x')).not.toBeNull();
    await mounts.disable('doomed/');
    expect(kvPurge).toHaveBeenCalledWith(m);
    expect(transitPurge).not.toHaveBeenCalled();
    expect(await mounts.resolve('doomed/data/x')).toBeNull();
    await expect(mounts.disable('doomed')).resolves.toBeUndefined();
    expect(kvPurge).toHaveBeenCalledTimes(1);
  });

  it('keeps a mount whose purge failed, so disable can be retried', async () => {
    const mounts = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    mounts.onDisable('kv', async () => {
      throw new Error('database went away');
    });
    await mounts.enable({ path: 'sticky', type: 'kv' });
    await expect(mounts.disable('sticky')).rejects.toThrow('database went away');
    expect((await mounts.list()).some((m) => m.path === 'sticky/')).toBe(true);
  });

  it('sees changes made by another replica once its cache is older than the refresh interval', async () => {
    let now = 1_000_000;
    const here = createMountService(
      { storage: ctx.storage(), catalog: secretsCatalog() },
      { refreshAfterMs: 5_000, now: () => now },
    );
    const elsewhere = createMountService({ storage: ctx.storage(), catalog: secretsCatalog() });
    expect(await here.resolve('replica/data/x')).toBeNull();
    await elsewhere.enable({ path: 'replica', type: 'kv' });
    now += 4_999;
    expect(await here.resolve('replica/data/x')).toBeNull(); // still trusting its cached table
    now += 1;
    expect(await here.resolve('replica/data/x')).toMatchObject({ mount: { path: 'replica/' } });
  });
});
