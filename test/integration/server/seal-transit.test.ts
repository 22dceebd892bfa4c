import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { bound, json } from '../cli/run.js';
import { api } from './client.js';

const SLOW = 180_000;
const KEY = 'autounseal';

/**
 * Auto-unseal with a transit seal, two real servers: B (dev, transit/ mounted) holds the key; A (production mode)
 * keeps its unseal key wrapped by B's transit key.
 */
describe('transit seal: a server unsealed by another server’s transit key', () => {
  let unsealer: StartedServer;
  let unsealerToken: string;
  let work: string;
  const running: StartedServer[] = [];

  beforeAll(async () => {
    unsealer = await startServer();
    const root = unsealer.rootToken;
    expect((await api(unsealer.url, 'POST', `transit/keys/${KEY}`, { token: root })).status).toBeLessThan(300);
    // Least privilege, as Vault's guide: the seal's token may only encrypt and decrypt with its one key.
    const policy = `path "transit/encrypt/${KEY}" { capabilities = ["update"] }
path "transit/decrypt/${KEY}" { capabilities = ["update"] }`;
    expect(
      (await api(unsealer.url, 'PUT', 'sys/policies/acl/autounseal', { token: root, body: { policy } })).status,
    ).toBe(204);
    const created = await api(unsealer.url, 'POST', 'auth/token/create', {
      token: root,
      body: { policies: ['autounseal'], no_default_policy: true },
    });
    unsealerToken = created.body.auth.client_token;
    work = mkdtempSync(join(tmpdir(), 'strongroom-transit-seal-'));
  }, SLOW);

  afterAll(async () => {
    for (const server of running) await server.stop({ keepDataDir: true });
    await unsealer?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, SLOW);

  /** A config file with (or without) the seal stanza; the token comes from the environment, never the file. */
  function configFile(name: string, seal: 'transit' | 'disabled' | 'none'): string {
    const file = join(work, `${name}.yaml`);
    const stanza =
      seal === 'none'
        ? ''
        : `seal:\n  type: transit\n  address: ${unsealer.url}\n  key_name: ${KEY}\n  mount_path: transit/\n` +
          (seal === 'disabled' ? '  disabled: true\n' : '');
    writeFileSync(file, stanza);
    return file;
  }

  async function start(
    dataDir: string,
    seal: 'transit' | 'disabled' | 'none',
    token = unsealerToken,
  ): Promise<StartedServer> {
    const server = await startServer({
      dev: false,
      dataDir,
      args: [`--config=${configFile(`${seal}-${running.length}`, seal)}`],
      env: { STRONGROOM_TRANSIT_SEAL_TOKEN: token },
    });
    running.push(server);
    return server;
  }

  async function writeSecret(server: StartedServer, token: string, value: string): Promise<void> {
    const mounted = await api(server.url, 'POST', 'sys/mounts/secret', {
      token,
      body: { type: 'kv', options: { version: '2' } },
    });
    expect(mounted.status).toBe(204);
    const written = await api(server.url, 'PUT', 'secret/data/app', { token, body: { data: { v: value } } });
    expect(written.status).toBe(200);
  }

  async function readSecret(server: StartedServer, token: string): Promise<unknown> {
    const read = await api(server.url, 'GET', 'secret/data/app', { token });
    expect(read.status).toBe(200);
    return read.body.data.data.v;
  }

  function logsOf(server: StartedServer): string {
    return server.stdout() + server.stderr();
  }

  it(
    'inits with recovery keys, restarts unsealed through B, waits sealed while B is sealed and recovers when B is back',
    async () => {
      const dataDir = join(work, 'a');
      let a = await start(dataDir, 'transit');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'transit',
        initialized: false,
        sealed: true,
      });
      const init = await api(a.url, 'PUT', 'sys/init', { body: { recovery_shares: 3, recovery_threshold: 2 } });
      expect(init.status).toBe(200);
      expect(init.body.keys_base64).toEqual([]);
      expect(init.body.recovery_keys_base64).toHaveLength(3);
      const rootToken: string = init.body.root_token;
      // As Vault's auto-unseal: init leaves the store unsealed.
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'transit',
        sealed: false,
        t: 2,
        n: 3,
        recovery_seal: true,
      });
      await writeSecret(a, rootToken, 'kept across restarts');
      await a.stop({ keepDataDir: true });

      // Restart: unsealed from its first answer, no one at the keyboard.
      a = await start(dataDir, 'transit');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'transit', sealed: false });
      expect(await readSecret(a, rootToken)).toBe('kept across restarts');
      await a.stop({ keepDataDir: true });

      // B sealed: A starts sealed, says why, and keeps trying (retry loop with backoff, no restart needed).
      expect((await api(unsealer.url, 'PUT', 'sys/seal', { token: unsealer.rootToken })).status).toBe(204);
      a = await start(dataDir, 'transit');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'transit', sealed: true });
      expect((await api(a.url, 'GET', 'sys/health')).status).toBe(503);
      expect((await api(a.url, 'GET', 'secret/data/app', { token: rootToken })).status).toBe(503);
      await eventually(() => /transit seal: cannot unseal yet: .*503.*sealed/i.test(a.stderr()), 'the reason');
      await eventually(() => /retrying in \d+ s/.test(a.stderr()), 'the retry line');
      // Submitting keys does not bypass the seal (fail closed): a transit store unseals only through its unsealer.
      const keyed = await api(a.url, 'PUT', 'sys/unseal', { body: { key: init.body.recovery_keys_base64[0] } });
      expect(keyed.status).toBe(400);
      expect(keyed.body.errors[0]).toMatch(/unseals through its transit seal/);

      const keyLine = readFileSync(join(unsealer.dataDir, 'dev-unseal.key'), 'utf8').trim();
      expect((await api(unsealer.url, 'PUT', 'sys/unseal', { body: { key: keyLine } })).body.sealed).toBe(false);
      // Ready (sys/health 200: unsealed and its audit log open) once B is back, without a restart.
      await eventually(async () => (await api(a.url, 'GET', 'sys/health')).status === 200, 'A to unseal', 60_000);
      expect(a.stderr()).toMatch(/transit seal: unsealed through the unsealer/);
      expect(await readSecret(a, rootToken)).toBe('kept across restarts');
      expect(logsOf(a)).not.toContain(unsealerToken);
      await a.stop({ keepDataDir: true });

      // Without the seal stanza a transit store does not start: it says what is missing.
      await expect(start(dataDir, 'none')).rejects.toThrow(/sealed by a transit key on another server/);
    },
    SLOW,
  );

  it(
    'migrates Shamir → transit with the unseal keys, and transit → Shamir with the recovery keys',
    async () => {
      const dataDir = join(work, 'm');
      let a = await start(dataDir, 'none');
      const init = await api(a.url, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
      expect(init.status).toBe(200);
      const keys: string[] = init.body.keys_base64;
      const rootToken: string = init.body.root_token;
      for (const key of keys.slice(0, 2)) await api(a.url, 'PUT', 'sys/unseal', { body: { key } });
      await writeSecret(a, rootToken, 'migrated twice');
      await a.stop({ keepDataDir: true });

      // Shamir → transit: add the stanza, restart, give the unseal keys with migrate.
      a = await start(dataDir, 'transit');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'shamir',
        sealed: true,
        migration: true,
      });
      expect(a.stderr()).toMatch(/seal migration pending/);
      const plain = await api(a.url, 'PUT', 'sys/unseal', { body: { key: keys[0] } });
      expect(plain.status).toBe(400);
      expect(plain.body.errors[0]).toMatch(/"migrate": true/);
      await api(a.url, 'PUT', 'sys/unseal', { body: { key: keys[0], migrate: true } });
      const migrated = await api(a.url, 'PUT', 'sys/unseal', { body: { key: keys[2], migrate: true } });
      expect(migrated.status).toBe(200);
      expect(migrated.body).toMatchObject({ type: 'transit', sealed: false, migration: false, recovery_seal: true });
      expect(await readSecret(a, rootToken)).toBe('migrated twice');
      await a.stop({ keepDataDir: true });

      // Now it restarts unsealed through B.
      a = await start(dataDir, 'transit');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'transit', sealed: false });
      await a.stop({ keepDataDir: true });

      // Transit → Shamir: disable the stanza, restart, give the recovery keys (the old unseal keys) with migrate.
      a = await start(dataDir, 'disabled');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({
        type: 'transit',
        sealed: true,
        migration: true,
      });
      const wrongSet = Buffer.alloc(33, 5);
      wrongSet[32] = 9;
      await api(a.url, 'PUT', 'sys/unseal', { body: { key: keys[1], migrate: true } });
      const refused = await api(a.url, 'PUT', 'sys/unseal', {
        body: { key: wrongSet.toString('base64'), migrate: true },
      });
      expect(refused.status).toBe(400);
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'transit', sealed: true });
      await api(a.url, 'PUT', 'sys/unseal', { body: { key: keys[1], migrate: true } });
      // The last key through the CLI, as an operator would: `strongroom operator unseal --migrate`.
      const back = json<Record<string, unknown>>(
        await bound(a.url, '')(['operator', 'unseal', '--migrate', keys[0]!, '-o', 'json']),
      );
      expect(back).toMatchObject({ type: 'shamir', sealed: false, t: 2, n: 3, recovery_seal: false });
      await a.stop({ keepDataDir: true });

      // Shamir again: starts sealed without B, and the same keys unseal it.
      a = await start(dataDir, 'none');
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'shamir', sealed: true });
      for (const key of keys.slice(1, 3)) await api(a.url, 'PUT', 'sys/unseal', { body: { key } });
      expect(await readSecret(a, rootToken)).toBe('migrated twice');
      expect(logsOf(a)).not.toContain(unsealerToken);
    },
    SLOW,
  );

  it(
    "keeps a renewable seal token alive past its first TTL (Vault's renewal), so the next restart still unseals",
    async () => {
      // A token with the default policy (it holds renew-self) and a 6 s TTL: without renewal it is gone in 6 s.
      const created = await api(unsealer.url, 'POST', 'auth/token/create', {
        token: unsealer.rootToken,
        body: { policies: ['autounseal'], ttl: '6s', explicit_max_ttl: '10m' },
      });
      expect(created.status).toBe(200);
      const { client_token: shortLived, accessor } = created.body.auth;
      const dataDir = join(work, 'renewal');
      let a = await start(dataDir, 'transit', shortLived);
      const init = await api(a.url, 'PUT', 'sys/init', { body: { recovery_shares: 1, recovery_threshold: 1 } });
      expect(init.status).toBe(200);
      // Renewed at start, and again at two thirds of each 6 s lease.
      await eventually(() => (logsOf(a).match(/transit seal: token renewed for 6 s/g) ?? []).length >= 3, 'renewals');
      const looked = await api(unsealer.url, 'POST', 'auth/token/lookup-accessor', {
        token: unsealer.rootToken,
        body: { accessor },
      });
      expect(looked.status).toBe(200);
      expect(Date.now() - Date.parse(looked.body.data.issue_time)).toBeGreaterThan(6_000);
      expect(looked.body.data.ttl).toBeGreaterThan(0);
      await a.stop({ keepDataDir: true });
      a = await start(dataDir, 'transit', shortLived);
      expect((await api(a.url, 'GET', 'sys/seal-status')).body).toMatchObject({ type: 'transit', sealed: false });
      expect(logsOf(a)).not.toContain(shortLived);
    },
    SLOW,
  );
});
