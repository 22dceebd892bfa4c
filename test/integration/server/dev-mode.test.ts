import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound } from '../cli/run.js';
import { api } from './client.js';

const SLOW = 120_000;

/** Root tokens the store minted at a start (sys/init, --dev): what "exactly one dev root token" counts. */
async function startRootTokens(server: StartedServer, token: string): Promise<string[]> {
  const listed = await api(server.url, 'LIST', 'auth/token/accessors', { token });
  expect(listed.status).toBe(200);
  const roots: string[] = [];
  for (const accessor of listed.body.data.keys as string[]) {
    const info = await api(server.url, 'POST', 'auth/token/lookup-accessor', { token, body: { accessor } });
    if (info.body.data.path === 'auth/token/root') roots.push(accessor);
  }
  return roots;
}

const worksAsRoot = async (server: StartedServer, token: string) =>
  (await api(server.url, 'GET', 'auth/token/lookup-self', { token })).body?.data?.policies;

describe('dev mode keeps one root token across restarts of the same data folder (real server process)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'strongroom-devmode-'));
  let server: StartedServer;
  let stableToken: string;
  let handedOut: string;

  beforeAll(async () => {
    server = await startServer({ dataDir, rootToken: null });
    stableToken = server.rootToken;
    const child = await api(server.url, 'POST', 'auth/token/create', {
      token: stableToken,
      body: { policies: ['default'] },
    });
    expect(child.status).toBe(200);
    handedOut = child.body.auth.client_token as string;
  }, SLOW);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, SLOW);

  const restart = async (rootToken: string | null) => {
    await server.stop({ keepDataDir: true });
    server = await startServer({ dataDir, rootToken });
  };

  it(
    'prints the same root token after a restart, and never writes it to the data folder in clear',
    async () => {
      expect(stableToken).toMatch(/^srs\.[A-Za-z0-9_-]{43}$/);
      expect(await worksAsRoot(server, stableToken)).toEqual(['root']);
      await restart(null);
      expect(server.rootToken).toBe(stableToken);
      expect(server.stdout()).toContain(`Root token: ${stableToken}`);
      expect(await worksAsRoot(server, stableToken)).toEqual(['root']);
      expect(await startRootTokens(server, stableToken)).toHaveLength(1);
      for (const file of readdirSync(dataDir, { recursive: true, withFileTypes: true })) {
        if (!file.isFile()) continue;
        const bytes = readFileSync(join(file.parentPath, file.name));
        expect(bytes.includes(stableToken.slice(4)), file.name).toBe(false);
      }
    },
    SLOW,
  );

  it(
    '--dev-root-token wins and revokes the earlier root token; tokens handed out under it keep working',
    async () => {
      const fixed = 'srs.dev-fixed-one';
      await restart(fixed);
      expect(server.rootToken).toBe(fixed);
      expect(await worksAsRoot(server, fixed)).toEqual(['root']);
      expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token: stableToken })).status).toBe(403);
      expect(server.stderr()).toMatch(/revoked 1 earlier root token/);
      const child = await api(server.url, 'GET', 'auth/token/lookup-self', { token: handedOut });
      expect(child.status).toBe(200);
      expect(child.body.data.orphan).toBe(true);

      // Another fixed value: the first one stops working too, exactly one stays valid.
      await restart('srs.dev-fixed-two');
      expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token: fixed })).status).toBe(403);
      expect(await worksAsRoot(server, 'srs.dev-fixed-two')).toEqual(['root']);
      expect(await startRootTokens(server, 'srs.dev-fixed-two')).toHaveLength(1);

      // Dropping the flag brings the store's stable token back, and the fixed one is revoked.
      await restart(null);
      expect(server.rootToken).toBe(stableToken);
      expect(await worksAsRoot(server, stableToken)).toEqual(['root']);
      expect((await api(server.url, 'GET', 'auth/token/lookup-self', { token: 'srs.dev-fixed-two' })).status).toBe(403);
      expect(await startRootTokens(server, stableToken)).toHaveLength(1);
    },
    SLOW,
  );

  it(
    'sealed through the API, it answers 503 with how to unseal it, and `strongroom status` says so too',
    async () => {
      const keyFile = join(dataDir, 'dev-unseal.key');
      expect((await api(server.url, 'PUT', 'sys/seal', { token: stableToken })).status).toBe(204);

      const read = await api(server.url, 'GET', 'secret/data/anything', { token: stableToken });
      expect(read.status).toBe(503);
      // Vault's words first (clients match on them), then how to unseal this store.
      expect(read.body.errors[0]).toBe('Vault is sealed');
      expect(read.body.errors[1]).toContain(`strongroom operator unseal --key-file=${keyFile}`);
      expect(read.body.errors[1]).toMatch(/restart the server/);

      const run = bound(server.url, stableToken);
      const status = await run(['status']);
      expect(status.code).toBe(2);
      expect(status.stdout).toMatch(/strongroom operator unseal --key-file=/);
      expect(status.stdout).toMatch(/restart the server/);
      const kv = await run(['kv', 'get', 'secret/anything']);
      expect(kv.code).toBe(1);
      expect(kv.stderr).toContain(`--key-file=${keyFile}`);

      // What the message says works: the key file unseals it.
      expect((await run(['operator', 'unseal', `--key-file=${keyFile}`])).code).toBe(0);
      expect(await worksAsRoot(server, stableToken)).toEqual(['root']);
    },
    SLOW,
  );
});
