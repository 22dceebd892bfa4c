import { mkdtempSync, statSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeEachEngine } from '../../test/support/engines.js';
import { openStorage } from '../server/open-storage.js';
import { encodeContext } from './context.js';
import { createSealService, keyBuffersForTestingOnly } from './service.js';
import { unsealedSealService } from './testing.js';

function tempPath(name = 'unseal.key'): string {
  return join(mkdtempSync(join(tmpdir(), 'strongroom-crypto-')), name);
}

const ctx1 = encodeContext('kv', 'secret', 'app/db', 1);

describeEachEngine('seal service (key file)', (ctx) => {
  it('initializes with a new 0600 key file, encrypts, seals, and unseals with the same file', async () => {
    const warnings: string[] = [];
    const service = createSealService({ storage: ctx.storage(), warn: (m) => warnings.push(m) });
    expect(await service.status()).toMatchObject({ initialized: false, sealed: true, term: 0 });
    const path = tempPath();
    await service.initKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(warnings.join('\n')).toMatch(/key file/);
    expect(await service.status()).toEqual({
      type: 'keyfile',
      initialized: true,
      sealed: false,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      term: 1,
      migration: false,
      recoverySeal: false,
    });

    const sealed = service.barrier.encrypt(Buffer.from('hunter2'), ctx1);
    expect(service.barrier.decrypt(sealed, ctx1).toString()).toBe('hunter2');

    await service.seal();
    expect(service.barrier.isSealed()).toBe(true);
    expect(() => service.barrier.decrypt(sealed, ctx1)).toThrowError(expect.objectContaining({ kind: 'sealed' }));
    expect(() => service.barrier.encrypt(Buffer.from('x'), ctx1)).toThrowError(
      expect.objectContaining({ kind: 'sealed' }),
    );

    const second = createSealService({ storage: ctx.storage(), warn: () => undefined });
    await second.unsealWithKeyFile(path);
    expect(second.barrier.decrypt(sealed, ctx1).toString()).toBe('hunter2');
    await expect(second.initKeyFile(tempPath())).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/already initialized/),
    });
    await expect(second.initShamir({ shares: 3, threshold: 2 })).rejects.toMatchObject({ kind: 'invalid' });
    await second.close();
    await service.close();
  });

  it('refuses a key file that does not open the store, or one readable by group/others', async () => {
    const service = createSealService({ storage: ctx.storage(), warn: () => undefined });
    const wrong = tempPath();
    writeFileSync(wrong, Buffer.alloc(32, 7), { mode: 0o600 });
    await expect(service.unsealWithKeyFile(wrong)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/does not open/),
    });
    chmodSync(wrong, 0o644);
    await expect(service.unsealWithKeyFile(wrong)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/group or others/),
    });
    expect(service.barrier.isSealed()).toBe(true);
    await expect(service.submitShare('AAAA')).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/--key-file/),
    });
  });
});

describeEachEngine('testing helper', (ctx) => {
  it('gives an unsealed barrier, and unseals the same database again through a second handle', async () => {
    const first = await unsealedSealService(ctx.storage());
    const sealed = first.barrier.encrypt(Buffer.from('v'), ctx1);
    const other = await openStorage(ctx.config());
    try {
      const second = await unsealedSealService(other);
      expect(second.barrier.decrypt(sealed, ctx1).toString()).toBe('v');
      await second.seal();
    } finally {
      await other.close();
    }
    await first.seal();
  });
});

describe('key-file store sealed through the API', () => {
  it('unseals with the key file contents given as a key, and refuses other keys saying how to unseal', async () => {
    const storage = await openStorage({ engine: 'sqlite', file: tempPath('k.db') });
    try {
      const keyFile = tempPath();
      const service = createSealService({ storage, warn: () => undefined });
      await service.initKeyFile(keyFile);
      const sealed = service.barrier.encrypt(Buffer.from('hunter2'), ctx1);
      await service.seal();
      await expect(service.submitShare(Buffer.alloc(32, 3).toString('base64'))).rejects.toMatchObject({
        kind: 'invalid',
        message: expect.stringMatching(/does not open this store.*key file.*restart/),
      });
      expect(service.barrier.isSealed()).toBe(true);
      const line = readFileSync(keyFile, 'utf8');
      expect(await service.submitShare(line)).toMatchObject({ type: 'keyfile', sealed: false, progress: 0 });
      expect(service.barrier.decrypt(sealed, ctx1).toString()).toBe('hunter2');
      await service.close();
    } finally {
      await storage.close();
    }
  });
});

describe('zeroing on seal', () => {
  it('overwrites every key buffer it held', async () => {
    const storage = await openStorage({ engine: 'sqlite', file: tempPath('z.db') });
    try {
      const service = createSealService({ storage, warn: () => undefined });
      await service.initKeyFile(tempPath());
      await service.rotate();
      const held = keyBuffersForTestingOnly(service);
      expect(held.length).toBeGreaterThanOrEqual(4); // unseal key, derivation secret, two data keys
      expect(held.every((b) => b.some((byte) => byte !== 0))).toBe(true);
      await service.seal();
      expect(held.every((b) => b.every((byte) => byte === 0))).toBe(true);
      expect(keyBuffersForTestingOnly(service)).toEqual([]);
      expect(() => service.barrier.deriveKey('audit-hmac')).toThrowError(expect.objectContaining({ kind: 'sealed' }));
    } finally {
      await storage.close();
    }
  });
});

describe('no plaintext at rest', () => {
  it('never writes a marker plaintext into the SQLite file', async () => {
    const file = tempPath('marker.db');
    const storage = await openStorage({ engine: 'sqlite', file });
    const marker = 'MARKER-7f3a9c-PLAINTEXT-NEVER-ON-DISK';
    try {
      const service = await unsealedSealService(storage);
      const { sql } = await import('kysely');
      await sql`create table probe (v blob)`.execute(storage.db);
      for (let i = 0; i < 20; i++) {
        const sealed = service.barrier.encrypt(Buffer.from(`${marker}-${i}`), encodeContext('probe', i));
        await sql`insert into probe (v) values (${sealed})`.execute(storage.db);
      }
      await service.rotate();
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(storage.db);
      await service.seal();
    } finally {
      await storage.close();
    }
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(Buffer.from('MARKER-7f3a9c'))).toBe(false);
  });
});
