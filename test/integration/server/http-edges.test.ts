import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { api } from './client.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** Splits what a server sent into complete responses (Content-Length framed, as this server always answers). */
function parseResponses(data: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = data;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) return out;
    const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const text = rest.slice(headEnd + 4, headEnd + 4 + length);
    if (text.length < length) return out;
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: text ? JSON.parse(text) : null });
    rest = rest.slice(headEnd + 4 + length);
  }
}

/**
 * Sends `parts` on one keep-alive connection: all at once (pipelined) or each after the previous one's answer
 * (sequential); resolves with the final (non-1xx) responses.
 */
function onOneConnection(url: string, parts: string[], mode: 'pipelined' | 'sequential'): Promise<RawResponse[]> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = '';
    let sent = 0;
    const final = () => parseResponses(data).filter((r) => r.status >= 200);
    const sendMore = () => {
      if (mode === 'pipelined') {
        socket.write(parts.join(''));
        sent = parts.length;
      }
      while (sent < parts.length && final().length >= sent) socket.write(parts[sent++]!);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 15 s:\n${data}`));
    }, 15_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (final().length >= parts.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(final());
      } else sendMore();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(final());
    });
    socket.once('connect', sendMore);
  });
}

describe('HTTP edge cases (real server process)', () => {
  let server: StartedServer;

  beforeAll(async () => {
    server = await startServer();
    for (const key of ['one', 'two']) {
      const written = await api(server.url, 'POST', `secret/data/edge/${key}`, { token: server.rootToken, body: { data: { v: key } } });
      expect(written.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe('LIST after a request the HTTP layer refused by itself (Expect other than 100-continue)', () => {
    const request = (line: string, extra = '') => `${line} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${server.rootToken}\r\n${extra}\r\n`;
    for (const mode of ['pipelined', 'sequential'] as const) {
      it(`a real LOCK after a refused LIST is not served as a list (${mode})`, async () => {
        const responses = await onOneConnection(
          server.url,
          [request('LIST /v1/secret/metadata/edge', 'Expect: foo\r\n'), request('LOCK /v1/secret/metadata/edge'), request('GET /v1/secret/data/edge/one')],
          mode,
        );
        expect(responses.map((r) => r.status)).toEqual([417, expect.any(Number), 200]);
        expect(responses[0]!.body).toEqual({ errors: [expect.stringContaining('Expect')] });
        // LOCK is no method of this API: refused, never answered with the listing.
        expect(responses[1]!.status).toBeGreaterThanOrEqual(400);
        expect(responses[1]!.body?.data).toBeUndefined();
        expect(responses[2]!.body.data.data).toEqual({ v: 'one' });
      });

      it(`a real LIST after a refused GET lists (${mode})`, async () => {
        const responses = await onOneConnection(
          server.url,
          [request('GET /v1/secret/data/edge/one', 'Expect: foo\r\n'), request('LIST /v1/secret/metadata/edge')],
          mode,
        );
        expect(responses.map((r) => r.status)).toEqual([417, 200]);
        expect(responses[1]!.body.data.keys).toEqual(['one', 'two']);
      });
    }
  });
});
