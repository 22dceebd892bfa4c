/**
 * The transport against real local servers: what goes over the wire (path, query, headers, body), how answers and
 * failures come back (typed errors, one-line messages that hold no token, body or query), timeouts, cancellation,
 * keep-alive, and the Vault LIST verb, which Node's own HTTP server cannot even parse (so a raw TCP server reads it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { ApiError, ConnectionError, NotFoundError, TimeoutError } from './errors.js';
import { createTransport, type Transport } from './transport.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

let server: Server;
let address: string;
const seen: Seen[] = [];
let handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) =>
  json(res, 200, { data: {} });
const transports: Transport[] = [];

function transport(options: Partial<Parameters<typeof createTransport>[0]> = {}): Transport {
  const t = createTransport({ address, ...options });
  transports.push(t);
  return t;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, socket: req.socket });
    handler(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const t of transports.splice(0)) t.close();
  seen.length = 0;
  handler = (_req, res) => json(res, 200, { data: {} });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('requests', () => {
  it('sends JSON to /v1/<path> with each segment encoded, the query, and the token only in X-Vault-Token', async () => {
    handler = (_req, res) => json(res, 200, { data: { ok: true } });
    const t = transport({ namespace: 'team-a', userAgent: 'strongroom-test' });
    const res = await t.request('POST', '/secret/data/a b/c?d#e', {
      token: 's.tok',
      body: { data: { password: 'hunter2' } },
      query: { version: 2, skip: undefined },
    });
    expect(res).toMatchObject({ status: 200, body: { data: { ok: true } } });
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/secret/data/a%20b/c%3Fd%23e?version=2',
      body: '{"data":{"password":"hunter2"}}',
    });
    expect(seen[0]!.headers).toMatchObject({
      'x-vault-token': 's.tok',
      'x-vault-namespace': 'team-a',
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'strongroom-test',
    });
  });

  it('sends no token header when there is none, and no body or content-type on a GET', async () => {
    await transport().request('GET', 'sys/health', { token: '' });
    expect(seen[0]!.headers).not.toHaveProperty('x-vault-token');
    expect(seen[0]!.headers).not.toHaveProperty('content-type');
    expect(seen[0]!.body).toBe('');
  });

  it('keeps a path prefix in the address (a reverse proxy in front of /v1)', async () => {
    await createTransport({ address: `${address}/vault/` }).request('GET', 'sys/health');
    expect(seen[0]!.url).toBe('/vault/v1/sys/health');
  });

  it('answers an empty or non-JSON body as undefined', async () => {
    handler = (_req, res) => res.writeHead(204).end();
    expect((await transport().request('DELETE', 'secret/data/x')).body).toBeUndefined();
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy</html>');
    expect((await transport().request('GET', 'secret/data/x')).body).toBeUndefined();
  });

  it('refuses a path that a URL parser or a decoding proxy would resolve to another one, before sending anything', async () => {
    const t = transport();
    for (const path of [
      'secret/data/%2e%2e/%2e%2e/sys/raw',
      'secret/data/../../sys/raw',
      'secret/data/.%2E/x',
      'secret/data/..\\x',
      'secret/data/a%2Fb',
      'secret/data/.\t./x',
    ]) {
      await expect(t.request('GET', path), path).rejects.toMatchObject({
        kind: 'invalid',
        details: { reason: 'unsafe_path' },
      });
    }
    expect(seen).toEqual([]);
  });

  it('reuses one kept-alive connection for consecutive requests', async () => {
    const t = transport();
    await t.request('GET', 'a');
    await t.request('GET', 'b');
    await t.request('GET', 'c');
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
  });

  it('refuses an answer larger than the limit', async () => {
    handler = (_req, res) => json(res, 200, { data: { big: 'x'.repeat(10_000) } });
    await expect(transport({ maxResponseBytes: 1000 }).request('GET', 'a')).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe('typed errors', () => {
  it('a 404 is a NotFoundError carrying Vault errors[], method and path, and the body for callers', async () => {
    handler = (_req, res) => json(res, 404, { errors: [], data: { metadata: { version: 3, deletion_time: 'x' } } });
    const err = await transport()
      .request('GET', 'secret/data/gone', { query: { version: 3 } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      status: 404,
      errors: [],
      method: 'GET',
      path: 'secret/data/gone',
      kind: 'not_found',
      body: { data: { metadata: { version: 3 } } },
    });
    expect((err as Error).message).toBe('HTTP 404 (404 on GET /v1/secret/data/gone)');
  });

  it('other statuses are ApiErrors whose kind says whose problem it is', async () => {
    const cases: Array<[number, string[], string]> = [
      [400, ['missing field'], 'invalid'],
      [403, ['permission denied'], 'forbidden'],
      [405, [], 'method_not_allowed'],
      [412, [], 'conflict'],
      [429, [], 'rate_limited'],
      [500, ['boom'], 'unavailable'],
      [503, ['Vault is sealed'], 'sealed'],
      [503, ['audit device unavailable'], 'unavailable'],
    ];
    for (const [status, errors, kind] of cases) {
      handler = (_req, res) => json(res, status, { errors });
      const err = await transport()
        .request('PUT', 'x/y')
        .catch((e: unknown) => e);
      expect(err, String(status)).toBeInstanceOf(ApiError);
      expect(err, String(status)).not.toBeInstanceOf(NotFoundError);
      expect(isStrongroomError(err, kind as never), `${status} ${kind}`).toBe(true);
      expect((err as ApiError).errors).toEqual(errors);
    }
  });

  it('never puts the token, the request body or the query into an error message', async () => {
    handler = (_req, res) => json(res, 400, { errors: ['bad request'] });
    const err = (await transport()
      .request('POST', 'transit/encrypt/k', {
        token: 'hvs.SECRET-TOKEN',
        body: { plaintext: 'cGxhaW50ZXh0LXZhbHVl' },
        query: { wrap: 'query-secret' },
      })
      .catch((e: unknown) => e)) as ApiError;
    expect(err.message).toBe('bad request (400 on POST /v1/transit/encrypt/k)');
    expect(err.message).not.toMatch(/SECRET-TOKEN|cGxhaW50|query-secret/);
  });

  it('refuses a token Node cannot put in a header without echoing it, and leaves no timer behind', async () => {
    const err = await transport({ timeoutMs: 50 })
      .request('GET', 'sys/health', { token: 'hvs.SECRET\r\nx-evil: 1' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain('SECRET');
    // The request's timer would fire here if it had been left running (and throw outside any promise).
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([]);
  });

  it('a refused connection is a one-line ConnectionError naming the address and the code', async () => {
    const err = await createTransport({ address: 'http://127.0.0.1:1' })
      .request('GET', 'sys/health', { token: 'hvs.SECRET-TOKEN' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'ECONNREFUSED', kind: 'unavailable' });
    expect((err as Error).message).toBe('cannot reach http://127.0.0.1:1: ECONNREFUSED');
  });

  it('refuses an address that is not http(s) or carries credentials', () => {
    expect(() => createTransport({ address: 'ftp://x' })).toThrow(/use http:\/\/ or https:\/\//);
    expect(() => createTransport({ address: 'not a url' })).toThrow(/invalid server address/);
    expect(() => createTransport({ address: 'http://user:pw@127.0.0.1:1' })).toThrow(/credentials/);
  });
});

describe('timeouts and cancellation', () => {
  it('gives up on an answer that does not come within the timeout, and frees the connection', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    const err = await transport({ timeoutMs: 300 })
      .request('GET', 'slow')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ phase: 'response', timeoutMs: 300, kind: 'unavailable' });
    expect((err as Error).message).toBe(`no answer from ${address} within 300 ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(3000);
    await expect.poll(() => seen[0]?.socket.destroyed).toBe(true);
  });

  it('a per-request timeout overrides the client default', async () => {
    handler = () => undefined;
    await expect(transport({ timeoutMs: 60_000 }).request('GET', 'slow', { timeoutMs: 200 })).rejects.toMatchObject({
      phase: 'response',
      timeoutMs: 200,
    });
  });

  it('gives up on a connection that is not up within the connect timeout (a TLS handshake that never ends)', async () => {
    // Accepts and reads, never says a word: the TLS handshake hangs.
    const silent = createTcpServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const err = await createTransport({
        address: `https://127.0.0.1:${port}`,
        connectTimeoutMs: 250,
        timeoutMs: 5000,
      })
        .request('GET', 'sys/health')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(err).toMatchObject({ phase: 'connect', timeoutMs: 250 });
      expect((err as Error).message).toBe(`cannot reach https://127.0.0.1:${port}: no connection within 250 ms`);
    } finally {
      await closeTcp(silent);
    }
  });

  it('stops when the caller aborts, with the abort reason', async () => {
    handler = () => undefined;
    const controller = new AbortController();
    const pending = transport().request('GET', 'slow', { signal: controller.signal });
    await expect.poll(() => seen.length).toBe(1);
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
    await expect(transport().request('GET', 'x', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});

describe("Vault's LIST verb", () => {
  let raw: TcpServer;
  let requestLine = '';
  beforeAll(async () => {
    // Node's HTTP server rejects LIST before any handler runs; a raw socket shows what the client really sent.
    raw = createTcpServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        requestLine = chunk.toString('latin1').split('\r\n')[0]!;
        const body = '{"data":{"keys":["a","b/"]}}';
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => closeTcp(raw));

  it('is sent as the method itself', async () => {
    const res = await createTransport({ address: `http://127.0.0.1:${(raw.address() as AddressInfo).port}` }).request(
      'LIST',
      'secret/metadata/app/',
    );
    expect(requestLine).toBe('LIST /v1/secret/metadata/app/ HTTP/1.1');
    expect(res.body.data.keys).toEqual(['a', 'b/']);
  });
});

function closeTcp(server: TcpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
