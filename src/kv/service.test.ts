import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import type { Mount } from '../mounts/types.js';
import { diffData } from './secret-rules.js';
import { createKvService } from './service.js';
import { kvMount, rejection } from './test-helpers.js';
import { createTestBarrier } from './testing.js';
import type { KvService } from './types.js';

describeEachEngine('kv service', (ctx) => {
  let kv: KvService;
  let mount: Mount;
  let clock: number;
  beforeEach(() => {
    clock = 1_700_000_000_000;
    kv = createKvService({
      storage: ctx.storage(),
      barrier: createTestBarrier(),
      now: () => clock,
      limits: { maxDataBytes: 4096 },
    });
    mount = kvMount();
  });
  const tick = (ms = 1) => (clock += ms);

  describe('versions', () => {
    it('makes every write a new version and reads latest or a given version', async () => {
      const v1 = await kv.write(mount, 'app/db', { password: 'one' });
      tick();
      const v2 = await kv.write(mount, 'app/db', { password: 'two', nested: { a: [1, 2] } });
      expect([v1.version, v2.version]).toEqual([1, 2]);
      expect(v2).toMatchObject({ createdTime: clock, deletionTime: 0, destroyed: false, customMetadata: null });
      expect((await kv.read(mount, 'app/db')).data).toEqual({ password: 'two', nested: { a: [1, 2] } });
      expect((await kv.read(mount, 'app/db', 0)).metadata.version).toBe(2);
      expect((await kv.read(mount, 'app/db', 1)).data).toEqual({ password: 'one' });
    });

    it('names each stored record by a digest: the same for every read of it, another for any other write', async () => {
      // The audit redactor reuses its HMACs of a read's data by this digest, so equal digests must mean equal data.
      await kv.write(mount, 'app/db', { password: 'same' });
      const first = await kv.read(mount, 'app/db');
      expect((await kv.read(mount, 'app/db')).recordDigest).toBe(first.recordDigest);
      expect((await kv.read(mount, 'app/db', 1)).recordDigest).toBe(first.recordDigest);
      expect(first.recordDigest).not.toContain('same');
      await kv.write(mount, 'app/db', { password: 'same' }); // same value, new record (new nonce)
      const second = await kv.read(mount, 'app/db');
      expect(second.recordDigest).not.toBe(first.recordDigest);
      await kv.write(mount, 'app/other', { password: 'same' });
      expect((await kv.read(mount, 'app/other')).recordDigest).not.toBe(first.recordDigest);
    });

    it('answers 404 for unknown secrets and versions', async () => {
      await rejection(kv.read(mount, 'nope'), 'not_found');
      await kv.write(mount, 'a', { k: 1 });
      const err = await rejection(kv.read(mount, 'a', 7), 'not_found');
      expect(err.details?.metadata).toBeUndefined();
    });

    it('keeps secrets of different mounts apart', async () => {
      const other = kvMount('other/');
      await kv.write(mount, 'same', { who: 'first' });
      await kv.write(other, 'same', { who: 'second' });
      expect((await kv.read(mount, 'same')).data).toEqual({ who: 'first' });
      expect((await kv.read(other, 'same')).data).toEqual({ who: 'second' });
    });
  });

  describe('data validation', () => {
    it('rejects non-objects, oversize data and bad paths with typed errors, writing nothing', async () => {
      await rejection(kv.write(mount, 'x', [] as never), 'invalid', 'data_not_object');
      await rejection(kv.write(mount, 'x', null as never), 'invalid', 'data_not_object');
      await rejection(kv.write(mount, 'x', { big: 'x'.repeat(5000) }), 'invalid', 'data_too_large');
      await rejection(kv.write(mount, '../x', { a: 1 }), 'invalid', 'invalid_path');
      await rejection(kv.write(mount, 'x', { n: 1n } as never), 'invalid', 'data_not_json');
      await rejection(kv.readMetadata(mount, 'x'), 'not_found');
    });

    it('accepts data exactly at the size limit', async () => {
      const exact = { k: 'x'.repeat(4096 - JSON.stringify({ k: '' }).length) };
      expect(JSON.stringify(exact)).toHaveLength(4096);
      await expect(kv.write(mount, 'edge', exact)).resolves.toMatchObject({ version: 1 });
    });
  });

  describe('check-and-set', () => {
    it('cas=0 only creates; a mismatch is invalid with the current version', async () => {
      await kv.write(mount, 's', { v: 1 }, { cas: 0 });
      const err = await rejection(kv.write(mount, 's', { v: 2 }, { cas: 0 }), 'invalid', 'cas_mismatch');
      expect(err.details?.currentVersion).toBe(1);
      await expect(kv.write(mount, 's', { v: 2 }, { cas: 1 })).resolves.toMatchObject({ version: 2 });
      await rejection(kv.write(mount, 's', { v: 3 }, { cas: 1 }), 'invalid', 'cas_mismatch');
      expect((await kv.read(mount, 's')).data).toEqual({ v: 2 });
    });

    it('requires cas when the mount or the secret says so', async () => {
      await kv.write(mount, 's', { v: 1 });
      await kv.writeMetadata(mount, 's', { casRequired: true });
      await rejection(kv.write(mount, 's', { v: 2 }), 'invalid', 'cas_required');
      await kv.write(mount, 's', { v: 2 }, { cas: 1 });

      await kv.writeConfig(mount, { casRequired: true });
      expect(await kv.readConfig(mount)).toEqual({ maxVersions: 0, casRequired: true, deleteVersionAfter: 0 });
      await rejection(kv.write(mount, 'fresh', { v: 1 }), 'invalid', 'cas_required');
      await rejection(kv.patch(mount, 's', { v: 3 }), 'invalid', 'cas_required');
      await expect(kv.write(mount, 'fresh', { v: 1 }, { cas: 0 })).resolves.toMatchObject({ version: 1 });
    });

    it('concurrent writes each get their own version or their own mismatch, and pruning keeps up', async () => {
      // Asked in one turn: on SQLite they share one batched transaction, on PostgreSQL they queue on the row lock.
      await kv.writeConfig(mount, { maxVersions: 3 });
      const plain = await Promise.all(Array.from({ length: 6 }, (_, i) => kv.write(mount, 'c', { i })));
      expect(plain.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
      const raced = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => kv.write(mount, 'c', { raced: i }, { cas: 6 })),
      );
      const won = raced.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect((won[0] as PromiseFulfilledResult<{ version: number }>).value.version).toBe(7);
      for (const lost of raced.filter((r) => r.status === 'rejected')) {
        expect((lost as PromiseRejectedResult).reason).toMatchObject({
          kind: 'invalid',
          details: { reason: 'cas_mismatch', currentVersion: 7 },
        });
      }
      const meta = await kv.readMetadata(mount, 'c');
      expect([meta.oldestVersion, meta.currentVersion]).toEqual([5, 7]);
      expect(Object.keys(meta.versions).map(Number)).toEqual([5, 6, 7]);
      const winner = raced.findIndex((r) => r.status === 'fulfilled');
      expect((await kv.read(mount, 'c')).data).toEqual({ raced: winner });
    });
  });

  describe('max_versions', () => {
    it('keeps 10 versions by default and erases the ciphertext of pruned ones', async () => {
      for (let i = 1; i <= 12; i++) await kv.write(mount, 'p', { i });
      const meta = await kv.readMetadata(mount, 'p');
      expect(meta.currentVersion).toBe(12);
      expect(meta.oldestVersion).toBe(3);
      expect(Object.keys(meta.versions).map(Number)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      await rejection(kv.read(mount, 'p', 2), 'not_found');
      const rows = await sql<{
        n: number;
      }>`select count(*) as n from kv_versions v join kv_secrets s on s.id = v.secret_id
        where s.mount_uuid = ${mount.uuid} and s.path = 'p'`.execute(ctx.storage().db);
      expect(Number(rows.rows[0]!.n)).toBe(10);
    });

    it('honours the mount setting and lets the secret setting override it', async () => {
      await kv.writeConfig(mount, { maxVersions: 3 });
      for (let i = 1; i <= 5; i++) await kv.write(mount, 'm', { i });
      expect(Object.keys((await kv.readMetadata(mount, 'm')).versions).map(Number)).toEqual([3, 4, 5]);
      await kv.writeMetadata(mount, 'm', { maxVersions: 1 });
      await kv.write(mount, 'm', { i: 6 });
      const meta = await kv.readMetadata(mount, 'm');
      expect(Object.keys(meta.versions).map(Number)).toEqual([6]);
      expect(meta.maxVersions).toBe(1);
      expect(meta.oldestVersion).toBe(6);
    });
  });

  describe('delete, undelete, destroy', () => {
    beforeEach(async () => {
      for (let i = 1; i <= 3; i++) await kv.write(mount, 'd', { i });
    });

    it('soft-deletes the latest version; reading it is 404 with its metadata; undelete restores it', async () => {
      tick(5);
      await kv.deleteLatest(mount, 'd');
      const err = await rejection(kv.read(mount, 'd'), 'not_found');
      expect(err.details?.metadata).toMatchObject({ version: 3, deletionTime: clock, destroyed: false });
      expect((await kv.read(mount, 'd', 2)).data).toEqual({ i: 2 });
      await kv.undeleteVersions(mount, 'd', [3]);
      expect((await kv.read(mount, 'd')).data).toEqual({ i: 3 });
    });

    it('deletes given versions, leaving others readable, and keeps the first deletion time', async () => {
      await kv.deleteVersions(mount, 'd', [1, 2, 99]);
      const first = (await kv.readMetadata(mount, 'd')).versions[1]!.deletionTime;
      tick(100);
      await kv.deleteVersions(mount, 'd', [1]);
      expect((await kv.readMetadata(mount, 'd')).versions[1]!.deletionTime).toBe(first);
      await rejection(kv.read(mount, 'd', 1), 'not_found');
      expect((await kv.read(mount, 'd')).data).toEqual({ i: 3 });
    });

    it('destroys irreversibly: the ciphertext is gone and undelete cannot bring it back', async () => {
      await kv.destroyVersions(mount, 'd', [2]);
      const err = await rejection(kv.read(mount, 'd', 2), 'not_found');
      expect(err.details?.metadata).toMatchObject({ version: 2, destroyed: true });
      await kv.undeleteVersions(mount, 'd', [2]);
      await rejection(kv.read(mount, 'd', 2), 'not_found');
      const row = await sql<{ ciphertext: unknown; term: unknown }>`select v.ciphertext, v.term from kv_versions v
        join kv_secrets s on s.id = v.secret_id where s.mount_uuid = ${mount.uuid} and v.version = 2`.execute(
        ctx.storage().db,
      );
      expect(row.rows[0]).toEqual({ ciphertext: null, term: null });
    });

    it('rejects an empty or malformed version list', async () => {
      await rejection(kv.deleteVersions(mount, 'd', []), 'invalid', 'versions_missing');
      await rejection(kv.destroyVersions(mount, 'd', [0]), 'invalid', 'bad_version');
      await rejection(kv.undeleteVersions(mount, 'd', [1.5]), 'invalid', 'bad_version');
    });
  });

  describe('delete_version_after', () => {
    it('schedules deletion from the mount setting; versions read as deleted once it passes', async () => {
      await kv.writeConfig(mount, { deleteVersionAfter: 60_000 });
      const v = await kv.write(mount, 't', { a: 1 });
      expect(v.deletionTime).toBe(clock + 60_000);
      tick(59_999);
      expect((await kv.read(mount, 't')).data).toEqual({ a: 1 });
      tick(1);
      const err = await rejection(kv.read(mount, 't'), 'not_found');
      expect(err.details?.metadata).toMatchObject({ deletionTime: v.deletionTime });
    });

    it('uses the smaller non-zero of mount and secret settings', async () => {
      await kv.writeConfig(mount, { deleteVersionAfter: 60_000 });
      await kv.writeMetadata(mount, 't', { deleteVersionAfter: 10_000 });
      expect((await kv.write(mount, 't', { a: 1 })).deletionTime).toBe(clock + 10_000);
      await kv.writeMetadata(mount, 't', { deleteVersionAfter: 120_000 });
      expect((await kv.write(mount, 't', { a: 2 })).deletionTime).toBe(clock + 60_000);
      await kv.writeConfig(mount, { deleteVersionAfter: 0 });
      expect((await kv.write(mount, 't', { a: 3 })).deletionTime).toBe(clock + 120_000);
    });
  });

  describe('metadata', () => {
    it('creates metadata without data, and reports it', async () => {
      await kv.writeMetadata(mount, 'meta/only', { maxVersions: 4, customMetadata: { owner: 'team-a' } });
      const meta = await kv.readMetadata(mount, 'meta/only');
      expect(meta).toMatchObject({
        currentVersion: 0,
        oldestVersion: 0,
        maxVersions: 4,
        casRequired: false,
        customMetadata: { owner: 'team-a' },
        versions: {},
      });
      await rejection(kv.read(mount, 'meta/only'), 'not_found');
      await kv.write(mount, 'meta/only', { a: 1 }, { cas: 0 });
      expect((await kv.read(mount, 'meta/only')).metadata.customMetadata).toEqual({ owner: 'team-a' });
    });

    it('write replaces custom_metadata and keeps unspecified fields; patch merges key by key', async () => {
      await kv.writeMetadata(mount, 'm', { maxVersions: 5, customMetadata: { a: '1', b: '2' } });
      await kv.writeMetadata(mount, 'm', { customMetadata: { c: '3' } });
      expect(await kv.readMetadata(mount, 'm')).toMatchObject({ maxVersions: 5, customMetadata: { c: '3' } });
      await kv.patchMetadata(mount, 'm', { casRequired: true, customMetadata: { c: null, d: '4' } });
      expect(await kv.readMetadata(mount, 'm')).toMatchObject({
        maxVersions: 5,
        casRequired: true,
        customMetadata: { d: '4' },
      });
      await rejection(kv.patchMetadata(mount, 'absent', { maxVersions: 1 }), 'not_found');
    });

    it('enforces Vault custom_metadata limits', async () => {
      const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
      await rejection(
        kv.writeMetadata(mount, 'c', { customMetadata: many }),
        'invalid',
        'custom_metadata_too_many_keys',
      );
      await rejection(
        kv.writeMetadata(mount, 'c', { customMetadata: { ['k'.repeat(129)]: 'v' } }),
        'invalid',
        'custom_metadata_key_length',
      );
      await rejection(
        kv.writeMetadata(mount, 'c', { customMetadata: { k: 'v'.repeat(513) } }),
        'invalid',
        'custom_metadata_value_length',
      );
      await rejection(
        kv.writeMetadata(mount, 'c', { customMetadata: { k: 1 as never } }),
        'invalid',
        'custom_metadata_type',
      );
      const max = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`.padEnd(128, 'x'), 'v'.repeat(512)]));
      await kv.writeMetadata(mount, 'c', { customMetadata: max });
      await rejection(
        kv.patchMetadata(mount, 'c', { customMetadata: { extra: 'v' } }),
        'invalid',
        'custom_metadata_too_many_keys',
      );
    });

    it('deleteMetadata removes every version and the metadata', async () => {
      await kv.write(mount, 'gone', { a: 1 });
      await kv.write(mount, 'gone', { a: 2 });
      await kv.deleteMetadata(mount, 'gone');
      await rejection(kv.readMetadata(mount, 'gone'), 'not_found');
      await rejection(kv.read(mount, 'gone', 1), 'not_found');
      const rows = await sql<{
        n: number;
      }>`select count(*) as n from kv_secrets where mount_uuid = ${mount.uuid}`.execute(ctx.storage().db);
      expect(Number(rows.rows[0]!.n)).toBe(0);
      // A new secret at the same path starts over at version 1.
      expect((await kv.write(mount, 'gone', { a: 3 })).version).toBe(1);
    });
  });

  describe('list', () => {
    beforeEach(async () => {
      for (const p of ['a', 'b/c', 'b/d/e', 'b/d/f', 'b_x', 'c', 'b-1', 'z/deep/er/still'])
        await kv.write(mount, p, { p });
    });

    it('lists direct children, folders with a trailing slash, sorted', async () => {
      expect(await kv.list(mount, '')).toEqual(['a', 'b-1', 'b/', 'b_x', 'c', 'z/']);
      expect(await kv.list(mount, 'b/')).toEqual(['c', 'd/']);
      expect(await kv.list(mount, 'b/d/')).toEqual(['e', 'f']);
      expect(await kv.list(mount, 'z')).toEqual(['deep/']);
    });

    it('treats _ literally (no LIKE wildcard) and answers an empty list when nothing is there', async () => {
      expect(await kv.list(mount, 'b_/')).toEqual([]);
      expect(await kv.list(mount, 'nothing/')).toEqual([]);
      expect(await kv.list(mount, 'a/')).toEqual([]);
    });

    it('pages through folders larger than one batch', async () => {
      const big = kvMount();
      const names: string[] = [];
      for (let i = 0; i < 300; i++) names.push(`n${String(i).padStart(3, '0')}`);
      for (const n of names) await kv.write(big, `dir/${n}`, { n });
      await kv.write(big, 'dir/sub/x', { n: 'x' });
      expect(await kv.list(big, 'dir/')).toEqual([...names, 'sub/'].sort());
    });

    it('still lists a secret whose versions are all deleted', async () => {
      await kv.deleteLatest(mount, 'c');
      expect(await kv.list(mount, '')).toContain('c');
    });
  });

  describe('patch', () => {
    it('applies a JSON merge patch into a new version', async () => {
      await kv.write(mount, 'p', { keep: 1, drop: 2, obj: { x: 1, y: 2 } });
      const v = await kv.patch(mount, 'p', { drop: null, obj: { y: null, z: 3 }, add: 'new' }, { cas: 1 });
      expect(v.version).toBe(2);
      expect((await kv.read(mount, 'p')).data).toEqual({ keep: 1, obj: { x: 1, z: 3 }, add: 'new' });
    });

    it('is 404 without a live latest version, and honours cas', async () => {
      await rejection(kv.patch(mount, 'none', { a: 1 }), 'not_found');
      await kv.write(mount, 'p', { a: 1 });
      await rejection(kv.patch(mount, 'p', { a: 2 }, { cas: 0 }), 'invalid', 'cas_mismatch');
      await kv.deleteLatest(mount, 'p');
      const err = await rejection(kv.patch(mount, 'p', { a: 2 }), 'not_found');
      expect(err.details?.metadata).toMatchObject({ version: 1 });
    });
  });

  describe('subkeys', () => {
    it('returns the structure with null leaves, to a depth', async () => {
      await kv.write(mount, 's', { a: 'x', b: { c: 1, d: { e: true } } });
      expect((await kv.subkeys(mount, 's')).subkeys).toEqual({ a: null, b: { c: null, d: { e: null } } });
      expect((await kv.subkeys(mount, 's', { depth: 1 })).subkeys).toEqual({ a: null, b: null });
      await kv.write(mount, 's', { only: 1 });
      expect((await kv.subkeys(mount, 's', { version: 1, depth: 2 })).subkeys).toEqual({
        a: null,
        b: { c: null, d: null },
      });
    });
  });

  describe('rollback and diff', () => {
    it('rolls back by writing a copy of a live version, honouring cas', async () => {
      await kv.write(mount, 'r', { v: 'one' });
      await kv.write(mount, 'r', { v: 'two' });
      await rejection(kv.rollback(mount, 'r', 1, { cas: 1 }), 'invalid', 'cas_mismatch');
      const v3 = await kv.rollback(mount, 'r', 1, { cas: 2 });
      expect(v3.version).toBe(3);
      expect((await kv.read(mount, 'r')).data).toEqual({ v: 'one' });
      await kv.destroyVersions(mount, 'r', [2]);
      await rejection(kv.rollback(mount, 'r', 2), 'invalid', 'version_not_live');
      await kv.deleteVersions(mount, 'r', [1]);
      await rejection(kv.rollback(mount, 'r', 1), 'invalid', 'version_not_live');
      await rejection(kv.rollback(mount, 'r', 42), 'not_found');
      await rejection(kv.rollback(mount, 'nothing', 1), 'not_found');
    });

    it('diffs two versions by key with deep equality; values only on request', async () => {
      await kv.write(mount, 'df', { same: { a: [1, 2] }, changed: 1, removed: true });
      await kv.write(mount, 'df', { same: { a: [1, 2] }, changed: 2, added: 'x' });
      const plain = await kv.diff(mount, 'df', 1, 2);
      expect(plain).toEqual({ from: 1, to: 2, added: ['added'], removed: ['removed'], changed: ['changed'] });
      const shown = await kv.diff(mount, 'df', 1, 2, { showValues: true });
      expect(shown.values).toEqual({ added: { to: 'x' }, removed: { from: true }, changed: { from: 1, to: 2 } });
      await kv.deleteVersions(mount, 'df', [1]);
      await rejection(kv.diff(mount, 'df', 1, 2), 'not_found');
    });

    it('diffData reports nothing between equal data', () => {
      expect(diffData(1, 2 as never, 2, 2 as never, false).added).toEqual([]);
      expect(diffData(1, { a: { b: 1, c: 2 } }, 2, { a: { c: 2, b: 1 } }, false)).toEqual({
        from: 1,
        to: 2,
        added: [],
        removed: [],
        changed: [],
      });
    });
  });

  describe('mount config and purge', () => {
    it('validates config values', async () => {
      await rejection(kv.writeConfig(mount, { maxVersions: -1 }), 'invalid');
      await rejection(kv.writeConfig(mount, { deleteVersionAfter: 1.5 }), 'invalid');
      await kv.writeConfig(mount, { maxVersions: 7 });
      await kv.writeConfig(mount, { deleteVersionAfter: 1000 });
      expect(await kv.readConfig(mount)).toEqual({ maxVersions: 7, casRequired: false, deleteVersionAfter: 1000 });
    });

    it('purgeMount removes every record of that mount and nothing else', async () => {
      const other = kvMount();
      await kv.write(mount, 'x', { a: 1 });
      await kv.writeConfig(mount, { maxVersions: 3 });
      await kv.write(other, 'x', { a: 2 });
      await kv.purgeMount(mount);
      expect(await kv.list(mount, '')).toEqual([]);
      expect(await kv.readConfig(mount)).toEqual({ maxVersions: 0, casRequired: false, deleteVersionAfter: 0 });
      expect((await kv.read(other, 'x')).data).toEqual({ a: 2 });
    });

    it('refuses a mount of another engine type', async () => {
      await rejection(kv.read({ ...mount, type: 'transit' }, 'x'), 'invalid', 'wrong_mount_type');
    });
  });
});
