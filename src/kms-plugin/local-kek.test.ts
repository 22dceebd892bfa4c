import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditService } from '../audit/service.js';
import type { AuditService } from '../audit/types.js';
import { verifyAuditFile, verifyDatabaseChain } from '../audit/verify.js';
import { createSealService, type ManagedSealService } from '../crypto/service.js';
import { sql } from 'kysely';
import { type Storage } from '../storage/database.js';
import { openStorage } from '../server/open-storage.js';
import { kmsPluginNodeId, openLocalKek, type LocalKekOptions } from './local-kek.js';

interface Line {
  type: string;
  request: { path: string };
  auth?: { display_name?: string };
}
const readLines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

/**
 * The "server" here is the store opened as `strongroom server` would: unsealed, with a file audit device enabled and
 * open (holding its lock) for the whole test — the plugin must work beside it without touching that file.
 */
describe('in-process KEK (openLocalKek) beside a running server on the same data directory', () => {
  let dir: string;
  let storage: Storage;
  let seal: ManagedSealService;
  let serverAudit: AuditService;
  let serverAuditFile: string;
  let options: LocalKekOptions;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-local-kek-'));
    storage = await openStorage({ engine: 'sqlite', file: join(dir, 'strongroom.db') });
    seal = createSealService({ storage, warn: () => undefined });
    await seal.initKeyFile(join(dir, 'unseal.key'));
    serverAuditFile = join(dir, 'server-audit.log');
    serverAudit = await createAuditService({ hmacKey: seal.barrier.deriveKey('audit-hmac'), storage });
    await serverAudit.enable({
      path: 'file/',
      type: 'file',
      description: 'server',
      options: { file_path: serverAuditFile },
    });
    options = {
      dataDir: dir,
      keyFile: join(dir, 'unseal.key'),
      mountPath: 'transit',
      keyName: 'kube',
      socketPath: join(dir, 'kms.sock'),
      warn: () => undefined,
    };
  });

  afterEach(async () => {
    await serverAudit.close();
    await seal.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a wrap never creates the transit mount (it is audited as a read); only ensureKey, audited as a change, does', async () => {
    const pluginFile = join(dir, 'kms-audit.log');
    const kek = await openLocalKek({ ...options, auditFile: pluginFile });
    await expect(kek.encrypt(Buffer.from('seed'), Buffer.from('aad'))).rejects.toThrow(/transit\/ is not mounted/);
    await kek.ensureKey();
    const wrapped = await kek.encrypt(Buffer.from('seed'), Buffer.from('aad'));
    expect(Buffer.from(await kek.decrypt(wrapped.ciphertext, Buffer.from('aad'))).toString()).toBe('seed');
    await kek.close();
    const entries = readLines(pluginFile).map((e) => `${e.type} ${e.request.path}`);
    // The refused wrap is recorded; the key (and mount) creation's request entry comes before its response.
    expect(entries.slice(0, 4)).toEqual([
      'request transit/encrypt/kube',
      'response transit/encrypt/kube',
      'request transit/keys/kube',
      'response transit/keys/kube',
    ]);
  });

  it("audits every call into its own database chain and its own file, never the server's file", async () => {
    const pluginFile = join(dir, 'kms-audit.log');
    const kek = await openLocalKek({ ...options, auditFile: pluginFile });
    await kek.ensureKey();
    const plaintext = Buffer.from('a-data-encryption-key-from-kube-apiserver');
    const wrapped = await kek.encrypt(plaintext, Buffer.from('aad'));
    expect(Buffer.from(await kek.decrypt(wrapped.ciphertext, Buffer.from('aad')))).toEqual(plaintext);
    await expect(kek.decrypt(wrapped.ciphertext, Buffer.from('other-aad'))).rejects.toThrow();
    await kek.close();

    const fileResult = await verifyAuditFile(pluginFile, { requireGenesis: true });
    expect(fileResult.ok).toBe(true);
    const entries = readLines(pluginFile);
    expect(entries.every((e) => e.auth?.display_name === 'kms-plugin')).toBe(true);
    expect(entries.map((e) => `${e.type} ${e.request.path}`)).toEqual(
      expect.arrayContaining([
        'request transit/keys/kube',
        'request transit/encrypt/kube',
        'response transit/encrypt/kube',
        'response transit/decrypt/kube',
      ]),
    );
    const text = readFileSync(pluginFile, 'utf8');
    expect(text).not.toContain(plaintext.toString('base64'));
    expect(text).not.toContain(plaintext.toString('utf8'));

    // The same entries, chained under this process's node id, in the store's audit table.
    const chain = await verifyDatabaseChain(storage, kmsPluginNodeId());
    expect(chain).toMatchObject({ ok: true, entries: entries.length, nodeId: kmsPluginNodeId() });
    const queried = await serverAudit.query({ path: 'transit/encrypt/kube' });
    expect(queried.map((r) => r.type).sort()).toEqual(['request', 'response']);

    // The server's file device is untouched and its chain intact.
    expect(readLines(serverAuditFile).some((e) => e.auth?.display_name === 'kms-plugin')).toBe(false);
    await serverAudit.log({
      type: 'request',
      time: new Date().toISOString(),
      request: { id: 'x', operation: 'read', path: 'sys/health' },
    });
    expect((await verifyAuditFile(serverAuditFile)).ok).toBe(true);
  });

  it('records each wrap and unwrap as its own request/response pair, an unwrap refused with its error', async () => {
    const pluginFile = join(dir, 'kms-audit.log');
    const kek = await openLocalKek({ ...options, auditFile: pluginFile });
    await kek.ensureKey();
    const wrapped = await kek.encrypt(Buffer.from('seed'), Buffer.from('aad'));
    await kek.decrypt(wrapped.ciphertext, Buffer.from('aad'));
    await expect(kek.decrypt(wrapped.ciphertext, Buffer.from('other-aad'))).rejects.toThrow();
    await kek.close();

    interface Entry extends Line {
      request: { id: string; path: string };
      response?: { status: number };
      error?: string;
    }
    const entries = readLines(pluginFile) as Entry[];
    const calls = entries.filter((e) => /\/(en|de)crypt\//.test(e.request.path));
    // Written in one commit per call (the request entry held for its response): still request first, then response.
    expect(calls.map((e) => `${e.type} ${e.request.path}`)).toEqual([
      'request transit/encrypt/kube',
      'response transit/encrypt/kube',
      'request transit/decrypt/kube',
      'response transit/decrypt/kube',
      'request transit/decrypt/kube',
      'response transit/decrypt/kube',
    ]);
    for (let i = 0; i < calls.length; i += 2) expect(calls[i + 1]!.request.id).toBe(calls[i]!.request.id);
    expect(new Set(calls.map((e) => e.request.id)).size).toBe(3);
    expect(calls.map((e) => e.response?.status)).toEqual([undefined, 200, undefined, 200, undefined, 400]);
    expect(calls[5]!.error).toBeTruthy();
    // Creating the key stores something: its request entry was written before the key was made, its response after.
    const creation = entries.filter((e) => e.request.path === 'transit/keys/kube').map((e) => e.type);
    expect(creation).toEqual(['request', 'response']);
  });

  it('without an audit file, writes the database chain only (database-only audit)', async () => {
    const kek = await openLocalKek(options);
    await kek.ensureKey();
    await kek.encrypt(Buffer.from('dek'), Buffer.from('aad'));
    await kek.close();
    const chain = await verifyDatabaseChain(storage, kmsPluginNodeId());
    expect(chain.ok).toBe(true);
    expect(chain.entries).toBeGreaterThanOrEqual(4);
  });

  /**
   * The plugin's handle commits without SQLite's fsync (synchronous=NORMAL) and makes its commits durable with one
   * fdatasync of the write-ahead log off the event loop (storage/commit-barrier.ts). These hold or fail that sync.
   */
  describe('durable acknowledgement through the commit barrier', () => {
    /** A sync that passes through until `hold()`, then waits for `release()` or fails on `fail()`. */
    function controlledSync() {
      let mode: 'pass' | 'hold' | 'fail' = 'pass';
      const held: { resolve: () => void; reject: (err: unknown) => void }[] = [];
      return {
        held,
        hold: () => void (mode = 'hold'),
        fail: () => void (mode = 'fail'),
        release: () => {
          mode = 'pass';
          for (const call of held.splice(0)) call.resolve();
        },
        sync: async (handle: FileHandle) => {
          if (mode === 'fail') throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          if (mode === 'hold') await new Promise<void>((resolve, reject) => held.push({ resolve, reject }));
          await handle.datasync();
        },
      };
    }
    const pluginRows = async (path: string) =>
      (
        await sql<{
          n: number;
        }>`select count(*) as n from audit_log where node_id = ${kmsPluginNodeId()} and path = ${path}`.execute(
          storage.db,
        )
      ).rows[0]!.n;
    const until = async (condition: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 5));
    };

    it('answers a wrap only once the commit holding its request and response entries is durable', async () => {
      const control = controlledSync();
      const kek = await openLocalKek({ ...options, commitBarrier: { sync: control.sync } });
      await kek.ensureKey();
      control.hold();
      let answered = false;
      const wrap = kek.encrypt(Buffer.from('seed'), Buffer.from('aad')).then((result) => {
        answered = true;
        return result;
      });
      // Both entries are committed (visible to another connection) while their sync is held: no answer yet.
      await until(async () => control.held.length > 0 && (await pluginRows('transit/encrypt/kube')) === 2);
      expect(await pluginRows('transit/encrypt/kube')).toBe(2);
      expect(control.held.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 20));
      expect(answered).toBe(false);
      control.release();
      const wrapped = await wrap;
      expect(wrapped.ciphertext).toMatch(/^vault:v1:/);
      await kek.close();
      expect((await verifyDatabaseChain(storage, kmsPluginNodeId())).ok).toBe(true);
    });

    it('fails a wrap closed when its entries cannot be made durable, and every call after it', async () => {
      const control = controlledSync();
      const kek = await openLocalKek({ ...options, commitBarrier: { sync: control.sync } });
      await kek.ensureKey();
      control.fail();
      await expect(kek.encrypt(Buffer.from('seed'), Buffer.from('aad'))).rejects.toThrow(/I\/O error/);
      // After a failed fdatasync nothing this handle commits can be called durable (the kernel may have dropped the
      // pages): the next call fails too, even with a disk that works again.
      control.release();
      await expect(kek.encrypt(Buffer.from('seed'), Buffer.from('aad'))).rejects.toThrow(/I\/O error/);
      await kek.close().catch(() => undefined);
    });

    it("never creates the key when the key creation's request entry cannot be made durable", async () => {
      const control = controlledSync();
      const kek = await openLocalKek({ ...options, commitBarrier: { sync: control.sync } });
      control.fail();
      await expect(kek.ensureKey()).rejects.toThrow(/I\/O error/);
      await kek.close().catch(() => undefined);
      const mounts = await sql<{ path: string }>`select path from mounts`.execute(storage.db);
      expect(mounts.rows.map((m) => m.path)).not.toContain('transit/');
    });
  });

  it("refuses to start on the server's own audit file instead of forking its chain", async () => {
    await expect(openLocalKek({ ...options, auditFile: serverAuditFile })).rejects.toThrow(/already being written/);
    // Nothing was written anywhere by the refused start.
    expect((await verifyDatabaseChain(storage, kmsPluginNodeId())).entries).toBe(0);
  });

  it('refuses to start when its audit file cannot be opened (fail closed)', async () => {
    await expect(openLocalKek({ ...options, auditFile: dir })).rejects.toThrow();
  });
});

describe('kmsPluginNodeId', () => {
  it('names the host and process, unique per process', () => {
    expect(kmsPluginNodeId()).toBe(kmsPluginNodeId(hostname(), process.pid));
    expect(kmsPluginNodeId('node-a', 7)).toBe('kms-plugin-node-a-7');
    expect(kmsPluginNodeId('node-a', 1)).not.toBe(kmsPluginNodeId('node-a', 2));
    expect(kmsPluginNodeId('node-a', 1)).not.toBe(kmsPluginNodeId('node-b', 1));
  });

  it('fits the 64-character limit of audit node ids and keeps the pid when the host name is long', () => {
    const id = kmsPluginNodeId('p'.repeat(200), 4_194_304);
    expect(id).toHaveLength(64);
    expect(id.startsWith('kms-plugin-ppp')).toBe(true);
    expect(id.endsWith('-4194304')).toBe(true);
  });
});
