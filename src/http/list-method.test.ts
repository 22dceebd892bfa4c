import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createListAwareServer } from './list-method.js';

async function app(tlsOptions?: { cert: Buffer; key: Buffer }): Promise<FastifyInstance> {
  const fastify = Fastify({ serverFactory: (handler) => createListAwareServer({ tls: tlsOptions }, handler) });
  fastify.all('/v1/*', async (req) => ({ method: req.method, url: req.url, body: req.body ?? null }));
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  return fastify;
}

/** Sends raw bytes on one connection and collects `count` responses' JSON bodies. */
function exchange(
  connect: () => net.Socket,
  raw: string,
  count: number,
): Promise<Array<{ status: number; body: unknown }>> {
  return new Promise((resolve, reject) => {
    const socket = connect();
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const responses = parseResponses(data);
      if (responses.length >= count) {
        socket.destroy();
        resolve(responses);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(parseResponses(data)));
    socket.write(raw);
  });
}

function parseResponses(data: string): Array<{ status: number; body: unknown }> {
  const out: Array<{ status: number; body: unknown }> = [];
  let rest = data;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) return out;
    const head = rest.slice(0, headEnd);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    if (body.length < length) return out;
    out.push({ status: Number(head.split(' ')[1]), body: body ? JSON.parse(body) : null });
    rest = rest.slice(headEnd + 4 + length);
  }
}

/** Sends each part on one connection, waiting for `expect[i]` responses in total before sending part i+1. */
function converse(port: number, parts: string[], total: number): Promise<Array<{ status: number; body: unknown }>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let sent = 0;
    const final = () => parseResponses(data).filter((r) => r.status >= 200);
    const sendNext = () => {
      // Sequential: the next request goes out only once every earlier one has its answer.
      while (sent < parts.length && final().length >= sent) socket.write(parts[sent++]!);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out with ${final().length}/${total} responses:\n${data}`));
    }, 10_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (final().length >= total) {
        clearTimeout(timer);
        socket.destroy();
        resolve(final());
      } else sendNext();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(final());
    });
    socket.once('connect', sendNext);
  });
}

type Echo = { method: string; url: string };

describe('LIST method support', () => {
  let server: FastifyInstance | undefined;
  afterEach(async () => server?.close());

  it('serves LIST and ordinary methods pipelined on one keep-alive connection', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const body = '{"note":"LIST /v1/evil HTTP/1.1"}';
    const raw =
      'LIST /v1/secret/metadata HTTP/1.1\r\nHost: x\r\n\r\n' +
      `POST /v1/secret/data/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      'LIST /v1/secret/metadata/app/ HTTP/1.1\r\nHost: x\r\n\r\n';
    const responses = await exchange(() => net.connect(port, '127.0.0.1'), raw, 3);
    const seen = responses.map((r) => r.body as { method: string; url: string; body: unknown });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v1/secret/metadata?list=true',
      'POST /v1/secret/data/a',
      'GET /v1/secret/metadata/app/?list=true',
    ]);
    expect(seen[1]!.body).toEqual({ note: 'LIST /v1/evil HTTP/1.1' });
  });

  it('does not turn a LOCK the client really sent into a list', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const responses = await exchange(() => net.connect(port, '127.0.0.1'), 'LOCK /v1/x HTTP/1.1\r\nHost: x\r\n\r\n', 1);
    const body = responses[0]!.body as { method?: string; url?: string };
    expect(body.url ?? '').not.toContain('list=true');
    expect(body.method === 'LOCK' || responses[0]!.status >= 400).toBe(true);
  });

  it('leaves a smuggling attempt to the HTTP parser, which rejects it', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const raw =
      'POST /v1/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nLIST /v1/b HTTP/1.1\r\nHost: x\r\n\r\n';
    const responses = await exchange(() => net.connect(port, '127.0.0.1'), raw, 1);
    expect(responses[0]!.status).toBe(400);
    expect(responses).toHaveLength(1);
  });

  it('serves a LIST whose bytes arrive one small packet at a time', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const raw = 'GET /v1/first HTTP/1.1\r\nHost: x\r\n\r\nLIST /v1/secret/metadata HTTP/1.1\r\nHost: x\r\n\r\n';
    const responses = await new Promise<Array<{ status: number; body: unknown }>>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        data += chunk;
        if (parseResponses(data).length >= 2) {
          socket.destroy();
          resolve(parseResponses(data));
        }
      });
      socket.on('error', reject);
      // Three bytes per write, each on its own turn of the event loop, so the method straddles several reads.
      let at = 0;
      const next = () => {
        if (at >= raw.length) return;
        socket.write(raw.slice(at, at + 3));
        at += 3;
        setTimeout(next, 1);
      };
      socket.once('connect', next);
    });
    expect(responses.map((r) => (r.body as { url: string }).url)).toEqual([
      '/v1/first',
      '/v1/secret/metadata?list=true',
    ]);
  });

  describe('after a request the server answers by itself (unsupported Expect: 417)', () => {
    const badExpect = (line: string) => `${line} HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n`;
    const plain = (line: string) => `${line} HTTP/1.1\r\nHost: x\r\n\r\n`;

    for (const mode of ['pipelined', 'sequential'] as const) {
      const send = (port: number, parts: string[]) =>
        mode === 'pipelined'
          ? exchange(() => net.connect(port, '127.0.0.1'), parts.join(''), parts.length)
          : converse(port, parts, parts.length);

      it(`never serves the next request on the connection as a LIST (${mode})`, async () => {
        server = await app();
        const { port } = server.server.address() as net.AddressInfo;
        const responses = await send(port, [badExpect('LIST /v1/a'), plain('LOCK /v1/b'), plain('GET /v1/c')]);
        expect(responses.map((r) => r.status)[0]).toBe(417);
        const lock = responses[1]!;
        expect((lock.body as Echo | null)?.url ?? '').not.toContain('list=true');
        expect((lock.body as Echo | null)?.method === 'LOCK' || lock.status >= 400).toBe(true);
        expect(responses[2]!.body).toMatchObject({ method: 'GET', url: '/v1/c' });
      });

      it(`serves a LIST that follows a refused GET as a list (${mode})`, async () => {
        server = await app();
        const { port } = server.server.address() as net.AddressInfo;
        const responses = await send(port, [
          badExpect('GET /v1/a'),
          plain('LIST /v1/secret/metadata'),
          plain('GET /v1/c'),
        ]);
        expect(responses.map((r) => r.status)).toEqual([417, 200, 200]);
        expect(responses.slice(1).map((r) => r.body)).toEqual([
          { method: 'GET', url: '/v1/secret/metadata?list=true', body: null },
          { method: 'GET', url: '/v1/c', body: null },
        ]);
      });
    }

    it("answers the refused expectation in Vault's error shape", async () => {
      server = await app();
      const { port } = server.server.address() as net.AddressInfo;
      const [refused] = await exchange(() => net.connect(port, '127.0.0.1'), badExpect('LIST /v1/a'), 1);
      expect(refused!.status).toBe(417);
      expect(refused!.body).toEqual({ errors: [expect.stringContaining('Expect')] });
    });
  });

  it('tags every request with its own method, whatever was refused before it on the connection (property)', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const requestArb = fc.record({
      method: fc.constantFrom('GET', 'LIST', 'LOCK', 'POST', 'DELETE'),
      expectHeader: fc.constantFrom(undefined, 'foo', '100-continue', '200-ok'),
      body: fc.constantFrom('', '{"a":1}', '{"x":"LIST /v1/evil HTTP/1.1"}'),
      chunked: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 6 }), fc.boolean(), async (reqs, pipelined) => {
        const parts = reqs.map((r, i) => {
          let head = `${r.method} /v1/r${i} HTTP/1.1\r\nHost: x\r\n`;
          if (r.expectHeader) head += `Expect: ${r.expectHeader}\r\n`;
          if (r.body === '') return `${head}\r\n`;
          head += 'Content-Type: application/json\r\n';
          if (r.chunked)
            return `${head}Transfer-Encoding: chunked\r\n\r\n${r.body.length.toString(16)}\r\n${r.body}\r\n0\r\n\r\n`;
          return `${head}Content-Length: ${r.body.length}\r\n\r\n${r.body}`;
        });
        const responses = pipelined
          ? (
              await exchange(
                () => net.connect(port, '127.0.0.1'),
                parts.join(''),
                parts.length + reqs.filter((r) => r.expectHeader === '100-continue').length,
              )
            ).filter((r) => r.status >= 200)
          : await converse(port, parts, parts.length);
        expect(responses).toHaveLength(reqs.length);
        reqs.forEach((r, i) => {
          const got = responses[i]!;
          const echo = got.body as Echo | null;
          if (r.expectHeader && r.expectHeader !== '100-continue') {
            expect(got.status).toBe(417);
          } else if (r.method === 'LIST') {
            expect(echo).toMatchObject({ method: 'GET', url: `/v1/r${i}?list=true` });
          } else if (r.method === 'LOCK') {
            expect(echo?.url ?? '').not.toContain('list=true');
            expect(echo?.method === 'LOCK' || got.status >= 400).toBe(true);
          } else {
            expect(echo).toMatchObject({ method: r.method, url: `/v1/r${i}` });
          }
        });
      }),
      { numRuns: 60 },
    );
  });

  it('answers as the HTTP parser would if LIST were a method, however the bytes are split into reads (property)', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const requestArb = fc.record({
      // LISTEN, UNLIST, LIS and LISK are no methods: Node's parser refuses them (400, connection closed), and so must we.
      method: fc.constantFrom('GET', 'LIST', 'LIST', 'LOCK', 'POST', 'LISTEN', 'UNLIST', 'LIS', 'LISK'),
      // Bodies that look like requests, and one that ends in `UN` (the one prefix that makes a LIST after it unprovable).
      body: fc.constantFrom('', 'abc', 'LIST /v1/evil HTTP/1.1\r\nHost: x\r\n\r\n', 'xUN', 'LIS'),
      chunked: fc.boolean(),
      leadingCrlf: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestArb, { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 40 }),
        async (reqs, cuts) => {
          const raw = reqs
            .map((r, i) => {
              let head = `${r.leadingCrlf ? '\r\n' : ''}${r.method} /v1/r${i} HTTP/1.1\r\nHost: x\r\n`;
              if (r.body === '') return `${head}\r\n`;
              head += 'Content-Type: text/plain\r\n';
              if (r.chunked)
                return `${head}Transfer-Encoding: chunked\r\n\r\n${r.body.length.toString(16)}\r\n${r.body}\r\n0\r\n\r\n`;
              return `${head}Content-Length: ${r.body.length}\r\n\r\n${r.body}`;
            })
            .join('');
          // Cut into pieces of the given sizes (the rest in one), each written on its own turn, so they arrive as
          // separate reads (or coalesced: the answer must not depend on it).
          const pieces: string[] = [];
          let at = 0;
          for (const size of cuts) {
            if (at >= raw.length) break;
            pieces.push(raw.slice(at, at + size));
            at += size;
          }
          if (at < raw.length) pieces.push(raw.slice(at));
          const responses = await new Promise<Array<{ status: number; body: unknown }>>((resolve, reject) => {
            const socket = net.connect(port, '127.0.0.1');
            socket.setNoDelay(true);
            let data = '';
            socket.setEncoding('utf8');
            const timer = setTimeout(() => socket.destroy(), 5_000);
            socket.on('data', (chunk: string) => {
              data += chunk;
              if (parseResponses(data).length >= reqs.length) socket.destroy();
            });
            socket.on('error', reject);
            socket.on('close', () => {
              clearTimeout(timer);
              resolve(parseResponses(data));
            });
            let next = 0;
            const send = () => {
              if (next >= pieces.length || socket.destroyed) return;
              socket.write(pieces[next++]!);
              setTimeout(send, 1);
            };
            socket.once('connect', send);
          });
          // The model: each request answered in order, until one the parser refuses (an invalid method; or, possibly,
          // a LIST that cannot be told from UNLIST because the bytes before it in the same read end in `UN`): then a 400
          // and the connection closes. Node sends that 400 at once, so answers still in progress before it may be lost.
          const invalid = (i: number) => ['LISTEN', 'UNLIST', 'LIS', 'LISK'].includes(reqs[i]!.method);
          const unprovable = (i: number) =>
            reqs[i]!.method === 'LIST' && reqs[i - 1]?.body === 'xUN' && !reqs[i - 1]!.chunked && !reqs[i]!.leadingCrlf;
          const context = JSON.stringify(raw);
          const last = responses.length - 1;
          const refusedAtEnd = last >= 0 && (responses[last]!.body as { message?: string })?.message === 'Client Error';
          responses.forEach((got, i) => {
            const r = reqs[i]!;
            const echo = got.body as (Echo & { body: unknown }) | null;
            if (i === last && refusedAtEnd) {
              // Explained by a request at or after this one that the parser refuses, with none invalid before it.
              const cause = reqs.findIndex((_, j) => j >= i && (invalid(j) || unprovable(j)));
              expect(cause, context).not.toBe(-1);
              return;
            }
            expect(invalid(i), context).toBe(false);
            if (r.method === 'LIST') {
              expect(echo, context).toMatchObject({ method: 'GET', url: `/v1/r${i}?list=true` });
            } else if (r.method === 'LOCK') {
              expect(echo?.url ?? '').not.toContain('list=true');
              expect(echo?.method === 'LOCK' || got.status >= 400).toBe(true);
            } else {
              expect(echo, context).toMatchObject({ method: r.method, url: `/v1/r${i}` });
              if (r.method === 'POST') expect(echo!.body, context).toBe(r.body === '' ? null : r.body);
            }
          });
          const firstInvalid = reqs.findIndex((_, j) => invalid(j));
          if (!refusedAtEnd) expect(responses, context).toHaveLength(reqs.length);
          if (firstInvalid !== -1) expect(refusedAtEnd && last <= firstInvalid, context).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('works over TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    server = await app({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) });
    const { port } = server.server.address() as net.AddressInfo;
    const responses = await exchange(
      () => tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }),
      'LIST /v1/secret/metadata HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/y HTTP/1.1\r\nHost: x\r\n\r\n',
      2,
    );
    expect(responses.map((r) => (r.body as { url: string }).url)).toEqual(['/v1/secret/metadata?list=true', '/v1/y']);
  });

  it('gives a LIST whose head already used up the header timeout no second timeout: it keeps its 400', async () => {
    server = await app();
    const { port } = server.server.address() as net.AddressInfo;
    const request = 'T /v1/secret/metadata HTTP/1.1\r\nHost: x\r\n\r\n';
    const send = (pauseMs: number, headersTimeout: number) => {
      server!.server.headersTimeout = headersTimeout;
      return new Promise<Array<{ status: number; body: unknown }>>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (data += chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(parseResponses(data)));
        socket.once('connect', () => {
          socket.write('LIS');
          setTimeout(() => socket.end(request), pauseMs);
        });
      });
    };
    // Node checks header timeouts only every 30 s by default, so without the check the slow LIST would be served.
    expect((await send(400, 200)).map((r) => r.status)).toEqual([400]);
    expect((await send(400, 60_000)).map((r) => r.status)).toEqual([200]);
  });
});
