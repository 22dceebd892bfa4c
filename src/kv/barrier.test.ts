import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import type { SealService } from '../crypto/types.js';
import { unsealedSealService } from '../crypto/testing.js';
import { registerKvRewrapper } from './rewrap.js';
import { createKvService } from './service.js';
import { kvMount, rejection } from './test-helpers.js';
import type { KvService } from './types.js';

/**
 * Everything that depends on the real barrier: binding of ciphertexts to their place, rotation and rewrap, and
 * that no secret value reaches the database files in any readable form.
 */
describeEachEngine('kv on the real barrier', (ctx) => {
  let seal: SealService;
  let kv: KvService;
  beforeAll(async () => {
    seal = await unsealedSealService(ctx.storage());
    kv = createKvService({ storage: ctx.storage(), barrier: seal.barrier });
  });
  const db = () => ctx.storage().db;

  it('a ciphertext moved to another version fails to decrypt', async () => {
    const mount = kvMount();
    await kv.write(mount, 'bound', { v: 'one' });
    await kv.write(mount, 'bound', { v: 'two' });
    const id = (await sql<{ id: number }>`select id from kv_secrets where mount_uuid = ${mount.uuid}`.execute(db()))
      .rows[0]!.id;
    await sql`update kv_versions set ciphertext = (select ciphertext from kv_versions where secret_id = ${id} and version = 1)
      where secret_id = ${id} and version = 2`.execute(db());
    await rejection(kv.read(mount, 'bound', 2), 'internal');
    expect((await kv.read(mount, 'bound', 1)).data).toEqual({ v: 'one' });
    await kv.purgeMount(mount); // leave no tampered row behind for the rewrap test
  });

  it('a secret moved to another path or mount fails to decrypt', async () => {
    const mount = kvMount();
    const other = kvMount();
    await kv.write(mount, 'from', { v: 'x' });
    await kv.write(mount, 'stays', { v: 'y' });
    await sql`update kv_secrets set path = 'to' where mount_uuid = ${mount.uuid} and path = 'from'`.execute(db());
    await rejection(kv.read(mount, 'to'), 'internal');
    await sql`update kv_secrets set mount_uuid = ${other.uuid} where mount_uuid = ${mount.uuid} and path = 'stays'`.execute(
      db(),
    );
    await rejection(kv.read(other, 'stays'), 'internal');
    await kv.purgeMount(mount);
    await kv.purgeMount(other);
  });

  it('rewrap stops on a record that does not authenticate, naming it', async () => {
    const mount = kvMount();
    await kv.write(mount, 'tampered', { v: 1 });
    await kv.write(mount, 'tampered', { v: 2 });
    await sql`update kv_versions set version = 3 where version = 2 and secret_id =
      (select id from kv_secrets where mount_uuid = ${mount.uuid})`.execute(db());
    await seal.rotate();
    const rewrapper = registerKvRewrapper({ barrier: seal.barrier, registerRewrapper: () => undefined }, ctx.storage());
    const err = await rejection(rewrapper.rewrapBatch(100), 'internal');
    expect(err.message).toContain('tampered');
    expect(err.message).not.toContain('"v"');
    await kv.purgeMount(mount);
  });

  it('old versions still read after rotate(); rewrap moves every record to the newest term', async () => {
    const mount = kvMount();
    for (let i = 1; i <= 5; i++) await kv.write(mount, `rot/${i % 2}`, { i });
    const before = seal.barrier.currentTerm();
    const { term } = await seal.rotate();
    expect(term).toBeGreaterThan(before);
    expect((await kv.read(mount, 'rot/1', 1)).data).toEqual({ i: 1 });
    await kv.write(mount, 'rot/1', { i: 6 });
    await kv.destroyVersions(mount, 'rot/0', [1]);

    const rewrapper = registerKvRewrapper(seal, ctx.storage());
    expect(await rewrapper.countStale()).toBeGreaterThan(0);
    await seal.rewrap();
    expect(await rewrapper.countStale()).toBe(0);
    const terms = await sql<{
      term: number | null;
    }>`select v.term from kv_versions v join kv_secrets s on s.id = v.secret_id
      where s.mount_uuid = ${mount.uuid}`.execute(db());
    const live = terms.rows.filter((r) => r.term !== null).map((r) => Number(r.term));
    expect(live.length).toBe(5); // 6 versions, one destroyed
    expect(new Set(live)).toEqual(new Set([term]));
    for (const [path, version, i] of [
      ['rot/1', 1, 1],
      ['rot/1', 2, 3],
      ['rot/1', 3, 5],
      ['rot/1', 4, 6],
      ['rot/0', 2, 4],
    ] as const) {
      expect((await kv.read(mount, path, version)).data).toEqual({ i });
    }
  });

  it('no secret value reaches the database in plaintext or base64', async () => {
    const marker = `sr-marker-${randomBytes(16).toString('hex')}`;
    const canary = `path-canary-${randomBytes(6).toString('hex')}`;
    const mount = kvMount();
    await kv.write(mount, `${canary}/a`, { password: marker });
    await kv.write(mount, `${canary}/a`, { nested: { list: [marker, `${marker}${marker}`] } });
    await kv.patch(mount, `${canary}/a`, { more: marker });
    await kv.rollback(mount, `${canary}/a`, 1);

    const dumps = databaseContents(ctx.engine, ctx.config());
    // The scan must be able to see what is really there: the path is stored in clear, so it has to be found.
    expect(dumps.some((d) => d.includes(Buffer.from(canary)))).toBe(true);
    for (const needle of encodings(marker)) {
      for (const dump of dumps) expect(dump.includes(needle), `found ${needle.toString()} in the database`).toBe(false);
    }
  });
});

/** The marker as plaintext, hex, and base64 / base64url at each of the three byte alignments. */
function encodings(marker: string): Buffer[] {
  const bytes = Buffer.from(marker, 'utf8');
  const needles = [bytes, Buffer.from(bytes.toString('hex')), Buffer.from(bytes.toString('hex').toUpperCase())];
  for (let offset = 0; offset < 3; offset++) {
    // Only whole 3-byte groups of the marker encode the same whatever surrounds them.
    const part = bytes.subarray(offset, offset + Math.floor((bytes.length - offset) / 3) * 3);
    needles.push(Buffer.from(part.toString('base64')), Buffer.from(part.toString('base64url')));
  }
  return needles;
}

function databaseContents(engine: string, config: { engine: string; file?: string; url?: string }): Buffer[] {
  if (engine === 'sqlite') {
    const file = config.file!;
    return [file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
  }
  // A full logical dump: every table's rows as pg_dump renders them (bytea as hex, text as is).
  return [execFileSync('pg_dump', ['--no-owner', config.url!], { maxBuffer: 256 * 1024 * 1024 })];
}
