import { sql } from 'kysely';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { unsealedSealService } from '../crypto/testing.js';
import type { SealService } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { createKvRepository } from './repository.js';
import { createKvService } from './service.js';
import { kvMount, rejection } from './test-helpers.js';
import type { KvService } from './types.js';

/** KV version 1: one value per path, replaced whole, sealed like a v2 version 1 so an upgrade needs no rewrite. */
describeEachEngine('kv version 1', (ctx) => {
  let seal: SealService;
  let kv: KvService;
  let mount: Mount;
  beforeAll(async () => {
    seal = await unsealedSealService(ctx.storage());
    kv = createKvService({ storage: ctx.storage(), barrier: seal.barrier, limits: { maxDataBytes: 4096 } });
  });
  beforeEach(() => {
    mount = kvMount('kv/', '1');
  });
  const db = () => ctx.storage().db;

  describe('values', () => {
    it('writes, replaces the whole value, reads and deletes', async () => {
      await kv.writeUnversioned(mount, 'app/db', { user: 'app', password: 'one' });
      expect(await kv.readUnversioned(mount, 'app/db')).toEqual({ user: 'app', password: 'one' });
      await kv.writeUnversioned(mount, 'app/db', { password: 'two' });
      // No merge: the key that was not written again is gone, as in Vault's v1.
      expect(await kv.readUnversioned(mount, 'app/db')).toEqual({ password: 'two' });
      await kv.deleteUnversioned(mount, 'app/db');
      await rejection(kv.readUnversioned(mount, 'app/db'), 'not_found');
      // Deleting what is not there is not an error.
      await kv.deleteUnversioned(mount, 'app/db');
    });

    it('keeps one stored version however often a value is rewritten', async () => {
      for (let i = 0; i < 5; i++) await kv.writeUnversioned(mount, 'many', { i });
      const rows = await sql<{
        version: number;
      }>`select v.version from kv_versions v join kv_secrets s on s.id = v.secret_id
        where s.mount_uuid = ${mount.uuid}`.execute(db());
      expect(rows.rows.map((r) => Number(r.version))).toEqual([1]);
      expect(await kv.readUnversioned(mount, 'many')).toEqual({ i: 4 });
    });

    it('lists keys and folders under a prefix, and 404s an empty one', async () => {
      await kv.writeUnversioned(mount, 'app/db', { a: 1 });
      await kv.writeUnversioned(mount, 'app/api/key', { a: 1 });
      await kv.writeUnversioned(mount, 'top', { a: 1 });
      expect(await kv.list(mount, '')).toEqual(['app/', 'top']);
      expect(await kv.list(mount, 'app/')).toEqual(['api/', 'db']);
      await kv.deleteUnversioned(mount, 'top');
      expect(await kv.list(mount, '')).toEqual(['app/']);
      expect(await kv.list(mount, 'nothing/')).toEqual([]);
    });

    it('refuses bad paths and oversized data like v2', async () => {
      await rejection(kv.writeUnversioned(mount, '../escape', { a: 1 }), 'invalid');
      await rejection(kv.writeUnversioned(mount, 'big', { a: 'x'.repeat(5000) }), 'invalid');
    });
  });

  describe('one API per version', () => {
    it('refuses v2 operations on a v1 mount and v1 operations on a v2 mount', async () => {
      await kv.writeUnversioned(mount, 'a', { k: 1 });
      await rejection(kv.read(mount, 'a'), 'invalid', 'kv_version');
      await rejection(kv.write(mount, 'a', { k: 2 }), 'invalid', 'kv_version');
      await rejection(kv.readMetadata(mount, 'a'), 'invalid', 'kv_version');
      await rejection(kv.writeConfig(mount, { maxVersions: 3 }), 'invalid', 'kv_version');
      const v2 = kvMount('secret/', '2');
      await kv.write(v2, 'a', { k: 1 });
      await rejection(kv.readUnversioned(v2, 'a'), 'invalid', 'kv_version');
      await rejection(kv.writeUnversioned(v2, 'a', { k: 2 }), 'invalid', 'kv_version');
      await rejection(kv.deleteUnversioned(v2, 'a'), 'invalid', 'kv_version');
      expect((await kv.read(v2, 'a')).data).toEqual({ k: 1 });
    });

    it('after the upgrade to v2 each value is version 1 of its secret, and writes continue at version 2', async () => {
      await kv.writeUnversioned(mount, 'app/db', { password: 'old' });
      await kv.writeUnversioned(mount, 'app/db', { password: 'v1-latest' });
      const upgraded: Mount = { ...mount, options: { ...mount.options, version: '2' } };
      const read = await kv.read(upgraded, 'app/db');
      expect(read).toMatchObject({
        data: { password: 'v1-latest' },
        metadata: { version: 1, destroyed: false, deletionTime: 0 },
      });
      expect(await kv.readMetadata(upgraded, 'app/db')).toMatchObject({ currentVersion: 1, oldestVersion: 1 });
      expect((await kv.write(upgraded, 'app/db', { password: 'new' })).version).toBe(2);
      expect((await kv.read(upgraded, 'app/db', 1)).data).toEqual({ password: 'v1-latest' });
      expect(await kv.list(upgraded, 'app/')).toEqual(['db']);
      // A replica that has not yet seen the upgrade must not overwrite or delete the v2 history.
      await rejection(kv.writeUnversioned(mount, 'app/db', { password: 'stale' }), 'invalid', 'kv_version');
      await rejection(kv.deleteUnversioned(mount, 'app/db'), 'invalid', 'kv_version');
      expect((await kv.read(upgraded, 'app/db')).data).toEqual({ password: 'new' });
      expect((await kv.read(upgraded, 'app/db', 1)).data).toEqual({ password: 'v1-latest' });
    });
  });

  describe('the barrier', () => {
    it('stores no plaintext and a v1 ciphertext copied to another path fails to decrypt', async () => {
      const marker = `v1-marker-${Math.random().toString(36).slice(2)}`;
      await kv.writeUnversioned(mount, 'from', { secret: marker });
      await kv.writeUnversioned(mount, 'to', { secret: 'other' });
      const rows = await sql<{ path: string; ciphertext: Buffer }>`select s.path, v.ciphertext from kv_versions v
        join kv_secrets s on s.id = v.secret_id where s.mount_uuid = ${mount.uuid}`.execute(db());
      for (const row of rows.rows) expect(Buffer.from(row.ciphertext).includes(Buffer.from(marker))).toBe(false);
      const from = rows.rows.find((r) => r.path === 'from')!;
      const toId = (
        await sql<{ id: number }>`select id from kv_secrets where mount_uuid = ${mount.uuid} and path = 'to'`.execute(
          db(),
        )
      ).rows[0]!.id;
      await sql`update kv_versions set ciphertext = ${from.ciphertext} where secret_id = ${toId}`.execute(db());
      await rejection(kv.readUnversioned(mount, 'to'), 'internal');
      // The same bytes under another mount with the same path fail too.
      const elsewhere = kvMount('kv-other/', '1');
      await kv.writeUnversioned(elsewhere, 'from', { secret: 'x' });
      const otherId = (
        await sql<{ id: number }>`select id from kv_secrets where mount_uuid = ${elsewhere.uuid}`.execute(db())
      ).rows[0]!.id;
      await sql`update kv_versions set ciphertext = ${from.ciphertext} where secret_id = ${otherId}`.execute(db());
      await rejection(kv.readUnversioned(elsewhere, 'from'), 'internal');
      expect(await kv.readUnversioned(mount, 'from')).toEqual({ secret: marker });
      await kv.purgeMount(mount);
      await kv.purgeMount(elsewhere);
    });

    it('a rewrap that read a v1 value before it was overwritten under the same term does not put it back', async () => {
      await kv.writeUnversioned(mount, 'raced', { v: 'before' });
      const repo = createKvRepository(ctx.storage());
      const secret = (await repo.findSecret(mount.uuid, 'raced'))!;
      const before = (await repo.getVersion(secret.id, 1))!;
      await kv.writeUnversioned(mount, 'raced', { v: 'after' });
      const after = (await repo.getVersion(secret.id, 1))!;
      expect(after.term).toBe(before.term);
      // What the rewrap would write back for the value it read: refused, because the row no longer holds those bytes.
      const moved = await repo.transaction((q) =>
        q.replaceCiphertext(
          secret.id,
          1,
          { term: before.term!, ciphertext: before.ciphertext! },
          before.ciphertext!,
          before.term!,
        ),
      );
      expect(moved).toBe(false);
      expect(await kv.readUnversioned(mount, 'raced')).toEqual({ v: 'after' });
      await kv.purgeMount(mount);
    });
  });
});
