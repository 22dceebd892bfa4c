import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultHttpClient } from './http-client.js';

describe('VaultHttpClient paths', () => {
  const seen: string[] = [];
  let server: http.Server;
  let address: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses a path that fetch would resolve to another one, before sending anything', async () => {
    const client = createVaultHttpClient({ address });
    for (const path of ['secret/data/%2e%2e/%2e%2e/sys/raw', 'secret/data/.%2E/x', 'secret/data/..\\..\\sys', 'secret/data/a%2fb', 'secret/data/.\t./x']) {
      seen.length = 0;
      await expect(client.request('GET', path), path).rejects.toMatchObject({ kind: 'invalid' });
      expect(seen, path).toEqual([]);
    }
    await client.request('GET', 'secret/data/app?version=2');
    expect(seen).toEqual(['/v1/secret/data/app?version=2']);
  });
});
