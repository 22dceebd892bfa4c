/** Response wrapping through createClient: the X-Vault-Wrap-TTL header, wrap_info, and unwrap's token placement. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isStrongroomError } from '../shared/errors.js';
import { createClient, wrapInfoOf, wrapTtlHeader } from './index.js';

let server: Server;
let address: string;
const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(
        '{"data":null,"wrap_info":{"token":"hvs.w","accessor":"acc","ttl":300,"creation_time":"2026-12-07T10:00:00Z","creation_path":"secret/data/x"}}',
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  seen.length = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('wrapTtl', () => {
  it('sends X-Vault-Wrap-TTL in seconds on the request that asks for it, and only there', async () => {
    const client = createClient({ address, token: 't' });
    const body = await client.read('secret/data/x', undefined, { wrapTtl: '5m' });
    await client.read('secret/data/x');
    await client.write('auth/token/create', {}, { wrapTtl: 90 });
    expect(seen.map((s) => s.headers['x-vault-wrap-ttl'])).toEqual(['300s', undefined, '90s']);
    expect(wrapInfoOf(body)).toEqual({
      token: 'hvs.w',
      accessor: 'acc',
      ttl: 300,
      creation_time: '2026-12-07T10:00:00Z',
      creation_path: 'secret/data/x',
    });
    client.close();
  });

  it('refuses a malformed or zero TTL before sending anything, without quoting it', async () => {
    const client = createClient({ address, token: 't' });
    for (const bad of ['soon', '0', 0, '-5m', '5 minutes', '']) {
      const err = await client.read('secret/data/x', undefined, { wrapTtl: bad }).catch((e: unknown) => e);
      expect(isStrongroomError(err, 'invalid')).toBe(true);
      if (typeof bad === 'string' && bad !== '') expect((err as Error).message).not.toContain(bad);
    }
    expect(seen).toHaveLength(0);
    client.close();
  });

  it('normalizes every positive duration to whole seconds (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => {
        expect(wrapTtlHeader(n)).toBe(`${n}s`);
        expect(wrapTtlHeader(String(n))).toBe(`${n}s`);
        expect(wrapTtlHeader(`${n}m`)).toBe(`${n * 60}s`);
        expect(wrapTtlHeader(`${n}h0m1s`)).toBe(`${n * 3600 + 1}s`);
      }),
    );
  });

  it('reads no wrap_info from an unwrapped answer', () => {
    expect(wrapInfoOf({ data: { k: 'v' } })).toBeUndefined();
    expect(wrapInfoOf(undefined)).toBeUndefined();
    expect(wrapInfoOf({ wrap_info: { token: '' } })).toBeUndefined();
  });
});

describe('unwrap', () => {
  const last = () => seen[seen.length - 1]!;

  it("uses the client's token as the wrapping token when given none", async () => {
    const client = createClient({ address, token: 'wrapping' });
    await client.unwrap();
    expect(last()).toMatchObject({ url: '/v1/sys/wrapping/unwrap', body: '{}' });
    expect(last().headers['x-vault-token']).toBe('wrapping');
    client.close();
  });

  it('sends a given token as the request token when the client has none, else in the body beside its own', async () => {
    const anonymous = createClient({ address });
    await anonymous.unwrap(' hvs.w\n');
    expect(last().headers['x-vault-token']).toBe('hvs.w');
    expect(last().body).toBe('{}');

    const caller = createClient({ address, token: 'mine' });
    await caller.unwrap('hvs.w');
    expect(last().headers['x-vault-token']).toBe('mine');
    expect(JSON.parse(last().body)).toEqual({ token: 'hvs.w' });
    await caller.unwrap('mine');
    expect(last().body).toBe('{}');
    anonymous.close();
    caller.close();
  });
});
