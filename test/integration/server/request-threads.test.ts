import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';

/** A Vault JSON answer, as far as these tests read it. */
interface Reply {
  sealed?: boolean;
  progress?: number;
  nonce?: string;
  keys_base64?: string[];
  root_token?: string;
  errors?: string[];
  auth?: { client_token: string };
  data?: { data?: Record<string, string> };
}

const BIN = fileURLToPath(new URL('../../../bin/strongroom', import.meta.url));

/**
 * One call on a connection of its own: the kernel hands each new connection to one of the threads accepting on the
 * listening socket, so a burst of these reaches every request thread (keep-alive would pin one thread).
 */
function call(
  url: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<{ status: number; body: Reply }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${url}/v1/${path}`,
      {
        method,
        agent: false,
        headers: {
          connection: 'close',
          ...(token ? { 'x-vault-token': token } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as Reply }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The statuses of `times` reads, each on a fresh connection (so spread over the threads). */
async function statuses(url: string, path: string, token: string, times = 12): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push((await call(url, 'GET', path, token)).status);
  return out;
}

/** Which threads logged a completed request (debug log lines carry `thread` when several threads serve). */
function threadsThatServed(server: StartedServer): Set<number> {
  const threads = new Set<number>();
  for (const line of (server.stdout() + server.stderr()).split('\n')) {
    const m = /"thread":(\d+).*"msg":"request completed"/.exec(line);
    if (m) threads.add(Number(m[1]));
  }
  return threads;
}

describe('a server with two request threads (real server process)', () => {
  let server: StartedServer;
  let auditFile: string;

  beforeAll(async () => {
    server = await startServer({ args: ['--request-threads=2', '--log-level=debug'], timeoutMs: 60_000 });
    auditFile = join(server.dataDir, 'audit', 'threads.log');
    const enabled = await call(server.url, 'PUT', 'sys/audit/file', server.rootToken, {
      type: 'file',
      options: { file_path: auditFile },
    });
    expect(enabled.status).toBe(204);
    await call(server.url, 'POST', 'secret/data/app', server.rootToken, { data: { password: 'hunter2' } });
    await call(server.url, 'PUT', 'sys/policies/acl/reader', server.rootToken, {
      policy: 'path "secret/data/app" { capabilities = ["read"] }',
    });
  }, 90_000);

  afterAll(async () => {
    expect(await server?.stop({ keepDataDir: true })).toBe(0);
    // Every request on either thread went through the one audit thread: one unbroken hash chain.
    const verified = spawnSync(process.execPath, [BIN, 'audit', 'verify', auditFile], { encoding: 'utf8' });
    expect(verified.stdout).toMatch(/hash chain intact/);
    expect(verified.status).toBe(0);
    expect(readFileSync(auditFile, 'utf8')).not.toContain('hunter2');
    await server?.stop();
  }, 60_000);

  async function readerToken(): Promise<string> {
    const created = await call(server.url, 'POST', 'auth/token/create', server.rootToken, { policies: ['reader'] });
    return created.body.auth!.client_token;
  }

  it('serves requests on both threads', async () => {
    const token = await readerToken();
    expect(await statuses(server.url, 'secret/data/app', token, 30)).toEqual(Array(30).fill(200));
    expect(threadsThatServed(server).size).toBe(2);
  });

  it('a policy change through one thread holds on the next request to any thread', async () => {
    const token = await readerToken();
    expect(await statuses(server.url, 'secret/data/app', token)).toEqual(Array(12).fill(200));
    // Each change is one request to one thread; every read after it, whichever thread takes it, sees the change.
    for (let round = 0; round < 3; round++) {
      await call(server.url, 'PUT', 'sys/policies/acl/reader', server.rootToken, {
        policy: 'path "secret/data/other" { capabilities = ["read"] }',
      });
      expect(await statuses(server.url, 'secret/data/app', token)).toEqual(Array(12).fill(403));
      await call(server.url, 'PUT', 'sys/policies/acl/reader', server.rootToken, {
        policy: 'path "secret/data/app" { capabilities = ["read"] }',
      });
      expect(await statuses(server.url, 'secret/data/app', token)).toEqual(Array(12).fill(200));
    }
  });

  it('a written value is read back by every thread at once', async () => {
    for (let version = 1; version <= 3; version++) {
      await call(server.url, 'POST', 'secret/data/counter', server.rootToken, { data: { n: String(version) } });
      for (let i = 0; i < 8; i++) {
        const read = await call(server.url, 'GET', 'secret/data/counter', server.rootToken);
        expect(read.body.data?.data).toEqual({ n: String(version) });
      }
    }
  });

  it('a token revoked through one thread is refused by every thread on the next request', async () => {
    const token = await readerToken();
    expect(await statuses(server.url, 'secret/data/app', token)).toEqual(Array(12).fill(200));
    const revoked = await call(server.url, 'POST', 'auth/token/revoke', server.rootToken, { token });
    expect(revoked.status).toBe(204);
    expect(await statuses(server.url, 'secret/data/app', token)).toEqual(Array(12).fill(403));
  });

  it('a seal through one thread seals every thread; an unseal through one unseals every thread', async () => {
    const sealed = await call(server.url, 'PUT', 'sys/seal', server.rootToken);
    expect(sealed.status).toBe(204);
    expect(await statuses(server.url, 'secret/data/app', server.rootToken)).toEqual(Array(12).fill(503));
    for (let i = 0; i < 6; i++) expect((await call(server.url, 'GET', 'sys/seal-status')).body.sealed).toBe(true);

    const key = readFileSync(join(server.dataDir, 'dev-unseal.key'), 'utf8').trim();
    const unsealed = await call(server.url, 'PUT', 'sys/unseal', undefined, { key });
    expect(unsealed.status).toBe(200);
    expect(unsealed.body.sealed).toBe(false);
    expect(await statuses(server.url, 'secret/data/app', server.rootToken)).toEqual(Array(12).fill(200));
  });
});

describe('Shamir unseal with two request threads: one unseal attempt, whichever thread each share reaches', () => {
  let server: StartedServer;
  let keys: string[];
  let rootToken: string;

  beforeAll(async () => {
    server = await startServer({ dev: false, args: ['--request-threads=2'], timeoutMs: 60_000 });
    const init = await call(server.url, 'PUT', 'sys/init', undefined, { secret_shares: 5, secret_threshold: 3 });
    expect(init.status).toBe(200);
    keys = init.body.keys_base64!;
    rootToken = init.body.root_token!;
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  /** seal-status `times` times, each on a fresh connection (so from both threads). */
  async function progressSeen(times = 12): Promise<Array<{ sealed?: boolean; progress?: number; nonce?: string }>> {
    const out = [];
    for (let i = 0; i < times; i++) {
      const { body } = await call(server.url, 'GET', 'sys/seal-status');
      out.push({ sealed: body.sealed, progress: body.progress, nonce: body.nonce });
    }
    return out;
  }

  it('every thread reports the same progress; reset through any thread resets it; shares through any threads unseal', async () => {
    const first = await call(server.url, 'PUT', 'sys/unseal', undefined, { key: keys[0] });
    expect(first.body).toMatchObject({ sealed: true, progress: 1 });
    const nonce = first.body.nonce;
    expect(nonce).not.toBe('');
    expect(await progressSeen()).toEqual(Array(12).fill({ sealed: true, progress: 1, nonce }));
    // The same share again, on a fresh connection (either thread): refused as Vault refuses it, a 400, not a 503.
    const again = await call(server.url, 'PUT', 'sys/unseal', undefined, { key: keys[0] });
    expect(again.status).toBe(400);
    expect(again.body.errors?.join(' ')).toMatch(/already submitted/);

    const reset = await call(server.url, 'PUT', 'sys/unseal', undefined, { reset: true });
    expect(reset.body).toMatchObject({ sealed: true, progress: 0, nonce: '' });
    expect(await progressSeen()).toEqual(Array(12).fill({ sealed: true, progress: 0, nonce: '' }));

    // Three shares, each on its own connection: they add up to the threshold wherever they land.
    for (const [i, key] of keys.slice(1, 4).entries()) {
      const answer = await call(server.url, 'PUT', 'sys/unseal', undefined, { key });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject(i < 2 ? { sealed: true, progress: i + 1 } : { sealed: false, progress: 0 });
    }
    expect(await progressSeen()).toEqual(Array(12).fill({ sealed: false, progress: 0, nonce: '' }));
    // Every thread serves: the root token from init looks itself up on any connection.
    for (let i = 0; i < 12; i++)
      expect((await call(server.url, 'GET', 'auth/token/lookup-self', rootToken)).status).toBe(200);
  });
});
