import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJsonClient } from './http.js';

describe('operator JSON client paths', () => {
  const seen: string[] = [];
  let server: http.Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a path that URL parsing would resolve to another one, before sending anything', async () => {
    const client = createJsonClient({ baseUrl });
    for (const path of ['/v1/secret/data/%2e%2e/%2e%2e/sys/raw', '/v1/secret/data/../../sys/raw', '/v1/secret/data/..\\x', '/v1/secret/data/a%2Fb']) {
      seen.length = 0;
      await expect(client.call('GET', path), path).rejects.toMatchObject({ kind: 'invalid' });
      expect(seen, path).toEqual([]);
    }
    await client.call('GET', '/v1/secret/data/app', { query: { version: '2' } });
    expect(seen).toEqual(['/v1/secret/data/app?version=2']);
  });
});
