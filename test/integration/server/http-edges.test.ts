import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
        if (sent === 0) socket.write(parts.join(''));
        sent = parts.length;
        return;
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
  const auditDir = mkdtempSync(join(tmpdir(), 'sr-edges-audit-'));
  const auditFile = join(auditDir, 'audit.log');

  beforeAll(async () => {
    server = await startServer({ args: [`--audit-file=${auditFile}`] });
    for (const key of ['one', 'two']) {
      const written = await api(server.url, 'POST', `secret/data/edge/${key}`, {
        token: server.rootToken,
        body: { data: { v: key } },
      });
      expect(written.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(auditDir, { recursive: true, force: true });
  });

  describe('LIST after a request the HTTP layer refused by itself (Expect other than 100-continue)', () => {
    const request = (line: string, extra = '') =>
      `${line} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${server.rootToken}\r\n${extra}\r\n`;
    for (const mode of ['pipelined', 'sequential'] as const) {
      it(`a real LOCK after a refused LIST is not served as a list (${mode})`, async () => {
        const responses = await onOneConnection(
          server.url,
          [
            request('LIST /v1/secret/metadata/edge', 'Expect: foo\r\n'),
            request('LOCK /v1/secret/metadata/edge'),
            request('GET /v1/secret/data/edge/one'),
          ],
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

  describe('deeply nested JSON bodies', () => {
    /** `depth` nested arrays around a string. */
    const nested = (depth: number) => `${'['.repeat(depth)}"leaf"${']'.repeat(depth)}`;
    const auditedPaths = () =>
      readFileSync(auditFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { request?: { path?: string } }).request?.path);

    it('refuses a 200 000-level body with 400 before authentication, audit or any handler', async () => {
      const rawBody = `{"data":{"v":${nested(200_000)}}}`;
      for (const token of [server.rootToken, undefined]) {
        const res = await api(server.url, 'POST', 'secret/data/edge/deep', {
          ...(token ? { token } : {}),
          rawBody,
          headers: { 'content-type': 'application/json' },
        });
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ errors: [expect.stringMatching(/nested deeper than 500/)] });
      }
      expect(auditedPaths()).not.toContain('secret/data/edge/deep');
      const health = await api(server.url, 'GET', 'sys/health');
      expect(health.status).toBe(200);
    });

    it('stores and audits a body nested as deep as allowed (500 levels, counting the outer object)', async () => {
      // {"data":{"v":[[...]]}}: the outer object, data's object and 498 arrays make 500 levels.
      const rawBody = `{"data":{"v":${nested(498)}}}`;
      const written = await api(server.url, 'POST', 'secret/data/edge/deep-ok', {
        token: server.rootToken,
        rawBody,
        headers: { 'content-type': 'application/json' },
      });
      expect(written.status).toBe(200);
      const read = await api(server.url, 'GET', 'secret/data/edge/deep-ok', { token: server.rootToken });
      expect(JSON.stringify(read.body.data.data.v)).toBe(nested(498));
      expect(auditedPaths()).toContain('secret/data/edge/deep-ok');
      const oneMore = await api(server.url, 'POST', 'secret/data/edge/deep-ok', {
        token: server.rootToken,
        rawBody: `{"data":{"v":${nested(499)}}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(oneMore.status).toBe(400);
    });
  });
});
