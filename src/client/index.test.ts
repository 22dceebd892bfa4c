/** createClient over a local server: where the token comes from, read/write/list/delete, and close(). */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, NotFoundError, createClient } from './index.js';

let server: Server;
let address: string;
const seen: Array<{ method: string; url: string; token: string | undefined; body: string }> = [];
let answer: (res: ServerResponse, url: string) => void;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({
      method: req.method!,
      url: req.url!,
      token: req.headers['x-vault-token'] as string | undefined,
      body: Buffer.concat(chunks).toString(),
    });
    answer(res, req.url!);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  seen.length = 0;
  answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"keys":["a","b/"]}}');
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createClient', () => {
  it('asks a token function before every request, so a rotated token is used at once', async () => {
    let n = 0;
    const client = createClient({ address, token: async () => `tok-${++n}` });
    await client.read('a');
    await client.read('b');
    expect(seen.map((s) => s.token)).toEqual(['tok-1', 'tok-2']);
    client.close();
  });

  it("lets one request use another token, or none ('')", async () => {
    const client = createClient({ address, token: 'default' });
    await client.read('a');
    await client.request('GET', 'b', { token: 'other' });
    await client.request('GET', 'sys/seal-status', { token: '' });
    expect(seen.map((s) => s.token)).toEqual(['default', 'other', undefined]);
  });

  it('read, write (with {} when no body), list (GET ?list=true) and delete', async () => {
    const client = createClient({ address, token: 't' });
    expect(await client.read('secret/data/x', { version: 2 })).toEqual({ data: { keys: ['a', 'b/'] } });
    await client.write('sys/seal');
    await client.write('secret/data/x', { data: { k: 'v' } });
    expect(await client.list('secret/metadata/')).toEqual(['a', 'b/']);
    await client.delete('secret/data/x');
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
      'GET /v1/secret/data/x?version=2 ',
      'POST /v1/sys/seal {}',
      'POST /v1/secret/data/x {"data":{"k":"v"}}',
      'GET /v1/secret/metadata/?list=true ',
      'DELETE /v1/secret/data/x ',
    ]);
  });

  it("lists an empty folder (Vault's bare 404) as [], but a 404 that explains itself is an error", async () => {
    const client = createClient({ address });
    answer = (res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[]}');
    expect(await client.list('secret/metadata/empty/')).toEqual([]);
    answer = (res) =>
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":["no handler for route \\"nomount/\\""]}');
    await expect(client.list('nomount/')).rejects.toBeInstanceOf(NotFoundError);
    answer = (res) =>
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":["permission denied"]}');
    await expect(client.list('secret/metadata/')).rejects.toMatchObject({ status: 403, errors: ['permission denied'] });
    await expect(client.list('secret/metadata/')).rejects.toBeInstanceOf(ApiError);
  });

  it('close() drops idle connections only: a request in flight finishes, and the client still works', async () => {
    const client = createClient({ address });
    await client.read('a');
    let release!: () => void;
    answer = (res) => {
      release = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"late":true}}');
    };
    const inFlight = client.read('slow');
    await expect.poll(() => seen.length).toBe(2);
    client.close();
    release();
    expect(await inFlight).toEqual({ data: { late: true } });
    answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    await client.read('b');
    expect(seen).toHaveLength(3);
  });
});
