import net from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdmission, createWorkGate, OverloadedError, type Admission } from './admission.js';
import { createListAwareServer, observeBody } from './list-method.js';

const KiB = 1024;

async function app(limits: {
  maxInflightBytes: number;
  maxConcurrentRequests: number;
}): Promise<{ fastify: FastifyInstance; admission: Admission; port: number; handled: string[] }> {
  const admission = createAdmission({ ...limits, maxBodyBytes: 64 * KiB, maxRetryAfterSeconds: 1 }, observeBody);
  const handled: string[] = [];
  const fastify = Fastify({
    bodyLimit: 64 * KiB,
    serverFactory: (handler) => createListAwareServer({ admission }, handler),
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  fastify.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof OverloadedError)
      return reply
        .code(503)
        .header('retry-after', String(error.retryAfterSeconds))
        .send({ errors: [error.message] });
    return reply.code(error.statusCode ?? 500).send({ errors: [error.message] });
  });
  fastify.all('/v1/*', async (req) => {
    handled.push(req.url);
    return { url: req.url, bytes: typeof req.body === 'string' ? req.body.length : 0 };
  });
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  return { fastify, admission, port: (fastify.server.address() as net.AddressInfo).port, handled };
}

interface Opened {
  socket: net.Socket;
  /** Resolves with the first response's status line and headers (lower-cased), as soon as they arrive. */
  head: Promise<{ status: number; headers: Record<string, string> }>;
}

/** Opens a connection and writes `raw` (typically headers and part of a body), leaving the rest unsent. */
function open(port: number, raw: string): Opened {
  const socket = net.connect(port, '127.0.0.1');
  const head = new Promise<{ status: number; headers: Record<string, string> }>((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines)
        headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers });
    });
    socket.on('error', reject);
  });
  head.catch(() => undefined);
  socket.write(raw);
  return { socket, head };
}

const post = (path: string, length: number, sent = '') =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n${sent}`;
const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(condition()).toBe(true);
}

describe('admission control', () => {
  let running: FastifyInstance | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await running?.close();
  });
  const track = (o: Opened) => (sockets.push(o.socket), o);

  it('refuses a body that does not fit the in-flight budget with 503 + Retry-After before reading it, and closes', async () => {
    const { fastify, admission, port } = await app({ maxInflightBytes: 48 * KiB, maxConcurrentRequests: 64 });
    running = fastify;
    // Holds 40 KiB of budget: headers and a first part of the body sent, the rest withheld.
    track(open(port, post('/v1/big', 40 * KiB, 'x'.repeat(100))));
    await until(() => admission.stats().inflightBytes === 40 * KiB);
    // Only the headers of the second body are sent: the answer must come without its body.
    const refused = track(open(port, post('/v1/second', 16 * KiB)));
    const { status, headers } = await refused.head;
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('1');
    expect(headers.connection).toBe('close');
    expect(admission.stats()).toMatchObject({ inflightRequests: 1, inflightBytes: 40 * KiB, refused: 1 });
    // A small body still fits; bodiless requests never count against bytes.
    expect((await track(open(port, post('/v1/small', 5, 'hello'))).head).status).toBe(200);
    expect((await track(open(port, get('/v1/health'))).head).status).toBe(200);
  });

  it('keeps part of the concurrency bound for requests without a body', async () => {
    const { fastify, admission, port } = await app({ maxInflightBytes: 1024 * KiB, maxConcurrentRequests: 16 });
    running = fastify;
    // 16 - 16/16 = 15 slots for requests with a body.
    for (let i = 0; i < 15; i++) track(open(port, post(`/v1/slow${i}`, 10, 'x')));
    await until(() => admission.stats().inflightRequests === 15);
    expect((await track(open(port, post('/v1/one-more', 1, 'x'))).head).status).toBe(503);
    expect((await track(open(port, get('/v1/health'))).head).status).toBe(200);
  });

  it('cuts off a chunked body once it outgrows the budget', async () => {
    const { fastify, admission, port, handled } = await app({ maxInflightBytes: 16 * KiB, maxConcurrentRequests: 64 });
    running = fastify;
    const chunk = 'y'.repeat(4 * KiB);
    const chunked = track(open(port, `POST /v1/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`));
    for (let i = 0; i < 6; i++) chunked.socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const { status, headers } = await chunked.head;
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('1');
    expect(handled).not.toContain('/v1/chunked');
    await until(() => admission.stats().inflightBytes === 0 && admission.stats().inflightRequests === 0);
  });

  it('releases the budget of a client that went away mid-body, and never runs its handler', async () => {
    const { fastify, admission, port, handled } = await app({ maxInflightBytes: 48 * KiB, maxConcurrentRequests: 64 });
    running = fastify;
    const gone = open(port, post('/v1/gone', 40 * KiB, 'x'.repeat(1000)));
    await until(() => admission.stats().inflightBytes === 40 * KiB);
    gone.socket.destroy();
    await until(() => admission.stats().inflightBytes === 0 && admission.stats().inflightRequests === 0);
    const body = 'z'.repeat(40 * KiB);
    expect((await track(open(port, post('/v1/next', body.length, body))).head).status).toBe(200);
    expect(handled).toEqual(['/v1/next']);
  });
});

describe('work gate for large bodies', () => {
  it('runs one at a time, and only after a turn of the event loop that accepted no connection (or maxWaitMs)', async () => {
    let accepted = 0;
    const gate = createWorkGate(1, { connectionsAccepted: () => accepted, maxWaitMs: 80 });
    const events: string[] = [];
    // A connection is accepted in every turn of the event loop for 40 ms: the work waits them out.
    const acceptEveryTurn = (forMs: number) => {
      let until = performance.now() + forMs;
      const tick = () => {
        accepted++;
        if (performance.now() < until) setImmediate(tick);
      };
      tick();
      return () => (until = 0);
    };
    acceptEveryTurn(40);
    const started = performance.now();
    const first = gate.run(async () => {
      events.push(`first@${Math.round(performance.now() - started)}`);
      await new Promise((r) => setTimeout(r, 10));
      events.push('first done');
      return 1;
    });
    const second = gate.run(async () => {
      events.push('second');
      return 2;
    });
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(events.slice(1)).toEqual(['first done', 'second']);
    const firstAt = Number(events[0]!.split('@')[1]);
    expect(firstAt).toBeGreaterThanOrEqual(35);

    // A steady stream of connections delays large work by at most maxWaitMs.
    const stop = acceptEveryTurn(1000);
    const t0 = performance.now();
    await gate.run(async () => undefined);
    const waited = performance.now() - t0;
    stop();
    expect(waited).toBeGreaterThanOrEqual(75);
    expect(waited).toBeLessThan(80 + 200);
  });

  it('drops a waiting request whose client went away, without running it', async () => {
    const gate = createWorkGate(1, { connectionsAccepted: () => 0 });
    let release!: () => void;
    const busy = gate.run(() => new Promise<void>((r) => (release = r)));
    let abandon!: () => void;
    const ran: string[] = [];
    const waiting = gate.run(
      async () => void ran.push('ran'),
      (cb) => (abandon = cb),
    );
    await new Promise((r) => setTimeout(r, 10));
    expect(gate.waiting).toBe(1);
    abandon();
    expect(await waiting).toBeNull();
    expect(gate.waiting).toBe(0);
    release();
    await busy;
    expect(ran).toEqual([]);
  });
});
