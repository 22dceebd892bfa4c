import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, cli, json } from '../cli/run.js';
import { api, vaultClient } from './client.js';

/** A share-shaped key (33 bytes) and a wrong 32-byte key: neither opens a key-file store. */
const SHARE_SHAPED = Buffer.alloc(33, 7).toString('base64');
const WRONG_KEY = Buffer.alloc(32, 9).toString('base64');
const SLOW = 120_000;

describe('a key-file (dev) store sealed through the API (real server process)', () => {
  let server: StartedServer;
  let keyFileLine: string;

  beforeAll(async () => {
    server = await startServer();
    keyFileLine = readFileSync(join(server.dataDir, 'dev-unseal.key'), 'utf8').trim();
    await vaultClient(server.url, server.rootToken).write('secret/data/kept', { data: { v: 'still here' } });
  });
  afterAll(async () => {
    await server?.stop();
  }, SLOW);

  it(
    'says how to unseal it, refuses a wrong key, and unseals with the key file contents through sys/unseal',
    async () => {
      expect((await api(server.url, 'PUT', 'sys/seal', { token: server.rootToken })).status).toBe(204);
      expect((await api(server.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'keyfile',
        initialized: true,
        sealed: true,
        t: 1,
        n: 1,
      });

      const shareShaped = await api(server.url, 'PUT', 'sys/unseal', { body: { key: SHARE_SHAPED } });
      expect(shareShaped.status).toBe(400);
      expect(shareShaped.body.errors[0]).toMatch(/key file/);
      expect(shareShaped.body.errors[0]).toMatch(/strongroom operator unseal --key-file/);
      expect(shareShaped.body.errors[0]).toMatch(/restart/);

      const wrong = await api(server.url, 'PUT', 'sys/unseal', { body: { key: WRONG_KEY } });
      expect(wrong.status).toBe(400);
      expect(wrong.body.errors[0]).toMatch(/does not open this store/);
      expect((await api(server.url, 'GET', 'sys/seal-status')).body.sealed).toBe(true);

      // The key file's own line, as `cat dev-unseal.key` prints it (newline included), is the unseal key.
      const opened = await api(server.url, 'PUT', 'sys/unseal', { body: { key: `${keyFileLine}\n` } });
      expect(opened.status).toBe(200);
      expect(opened.body).toMatchObject({ type: 'keyfile', sealed: false, progress: 0 });
      const read = await api(server.url, 'GET', 'secret/data/kept', { token: server.rootToken });
      expect(read.status).toBe(200);
      expect(read.body.data.data.v).toBe('still here');

      // Hex of the same 32 bytes works too, as Vault takes unseal keys in hex or base64.
      expect((await api(server.url, 'PUT', 'sys/seal', { token: server.rootToken })).status).toBe(204);
      const hex = Buffer.from(keyFileLine, 'base64').toString('hex');
      expect((await api(server.url, 'PUT', 'sys/unseal', { body: { key: hex } })).body).toMatchObject({
        sealed: false,
      });

      expect(server.stdout() + server.stderr()).not.toContain(keyFileLine);
      expect(server.stdout() + server.stderr()).not.toContain(hex);
    },
    SLOW,
  );

  it(
    'unseals with `strongroom operator unseal --key-file`, and with the key on stdin',
    async () => {
      const run = bound(server.url, server.rootToken);
      expect((await run(['operator', 'seal'])).code).toBe(0);
      const sealedKv = await run(['kv', 'get', 'secret/kept']);
      expect(sealedKv.code).toBe(1);

      const unsealed = json<{ sealed: boolean; type: string }>(
        await run(['operator', 'unseal', '--key-file', join(server.dataDir, 'dev-unseal.key'), '-o', 'json']),
      );
      expect(unsealed).toMatchObject({ sealed: false, type: 'keyfile' });
      expect((await run(['kv', 'get', 'secret/kept'])).stdout).toContain('still here');

      expect((await run(['operator', 'seal'])).code).toBe(0);
      const fromStdin = json<{ sealed: boolean }>(
        await run(['operator', 'unseal', '-', '-o', 'json'], {
          input: readFileSync(join(server.dataDir, 'dev-unseal.key'), 'utf8'),
        }),
      );
      expect(fromStdin.sealed).toBe(false);

      const missing = await cli(['operator', 'unseal', '--key-file', join(server.dataDir, 'no-such.key')], {
        env: { STRONGROOM_ADDR: server.url },
      });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no-such\.key/);
    },
    SLOW,
  );

  it(
    'unseals itself from its key file when restarted after a seal through the API',
    async () => {
      expect((await api(server.url, 'PUT', 'sys/seal', { token: server.rootToken })).status).toBe(204);
      await server.stop({ keepDataDir: true });
      server = await startServer({ dataDir: server.dataDir, rootToken: server.rootToken });
      expect((await api(server.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'keyfile', sealed: false });
      expect((await api(server.url, 'GET', 'secret/data/kept', { token: server.rootToken })).body.data.data.v).toBe(
        'still here',
      );
    },
    SLOW,
  );
});

describe('a production store sealed with a key file (no --dev)', () => {
  let server: StartedServer;
  afterAll(async () => {
    await server?.stop();
  }, SLOW);

  it(
    'unseals itself at start from the key file in its data directory',
    async () => {
      const dev = await startServer();
      await dev.stop({ keepDataDir: true });
      server = await startServer({ dev: false, dataDir: dev.dataDir });
      expect((await api(server.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'keyfile',
        initialized: true,
        sealed: false,
      });
    },
    SLOW,
  );

  it(
    'starts sealed when the key file is kept elsewhere, says how to unseal, and unseals with its contents',
    async () => {
      const dev = await startServer();
      await vaultClient(dev.url, dev.rootToken).write('secret/data/elsewhere', {
        data: { v: 'kept off the data volume' },
      });
      await dev.stop({ keepDataDir: true });
      // As the key-file warning advises: the key file leaves the data directory.
      const keyFile = join(dev.dataDir, 'dev-unseal.key');
      const line = readFileSync(keyFile, 'utf8');
      rmSync(keyFile);

      await server?.stop();
      server = await startServer({ dev: false, dataDir: dev.dataDir });
      expect((await api(server.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'keyfile',
        initialized: true,
        sealed: true,
      });
      expect(server.stdout()).toMatch(/Sealed: this store is sealed with a key file: .*operator unseal --key-file/);
      expect((await api(server.url, 'GET', 'secret/data/elsewhere', { token: dev.rootToken })).status).toBe(503);

      expect((await api(server.url, 'PUT', 'sys/unseal', { body: { key: line } })).body).toMatchObject({
        sealed: false,
      });
      const read = await api(server.url, 'GET', 'secret/data/elsewhere', { token: dev.rootToken });
      expect(read.body.data.data.v).toBe('kept off the data volume');
      expect(server.stdout() + server.stderr()).not.toContain(line.trim());
    },
    SLOW,
  );
});
