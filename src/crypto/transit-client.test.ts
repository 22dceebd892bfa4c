import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransitUnsealer, type TransitSealConfig } from './transit-seal.js';

const TOKEN = 'hvs.transit-seal-token-never-shown';

/** A local HTTP server standing in for the unsealer's transit API; each test sets how it answers. */
describe('transit seal client (HTTP to the unsealer)', () => {
  let server: Server;
  let address: string;
  let answer: (req: IncomingMessage, body: Record<string, string>) => { status: number; body: unknown };
  const seen: Array<{ url: string; token: unknown; namespace: unknown; body: Record<string, string> }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, string>;
        seen.push({
          url: req.url ?? '',
          token: req.headers['x-vault-token'],
          namespace: req.headers['x-vault-namespace'],
          body,
        });
        const reply = answer(req, body);
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const config = (extra: Partial<TransitSealConfig> = {}): TransitSealConfig => ({
    address,
    token: TOKEN,
    keyName: 'auto unseal',
    mountPath: '/unsealer/transit/',
    tlsSkipVerify: false,
    disabled: false,
    disableRenewal: false,
    ...extra,
  });

  it("wraps and unwraps through Vault's encrypt and decrypt paths, with the token and namespace headers", async () => {
    answer = (req, body) =>
      req.url?.includes('/encrypt/')
        ? { status: 200, body: { data: { ciphertext: `vault:v1:${body.plaintext}` } } }
        : { status: 200, body: { data: { plaintext: body.ciphertext!.slice('vault:v1:'.length) } } };
    const unsealer = createTransitUnsealer(config({ namespace: 'ns1/' }));
    const key = Buffer.alloc(32, 3);
    const wrapped = await unsealer.wrap(key);
    expect(wrapped).toBe(`vault:v1:${key.toString('base64')}`);
    expect((await unsealer.unwrap(wrapped)).equals(key)).toBe(true);
    expect(seen.slice(-2).map((r) => r.url)).toEqual([
      '/v1/unsealer/transit/encrypt/auto%20unseal',
      '/v1/unsealer/transit/decrypt/auto%20unseal',
    ]);
    expect(seen.at(-1)).toMatchObject({ token: TOKEN, namespace: 'ns1/' });
  });

  it('says why the unsealer refused, never with the token; refuses an answer that is not a 256-bit key', async () => {
    answer = () => ({ status: 503, body: { errors: ['Vault is sealed'] } });
    const unsealer = createTransitUnsealer(config());
    const refused = await unsealer.unwrap('vault:v1:x').catch((err: Error) => err);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(
      /decrypt with transit key "auto unseal" at .* failed: 503 Vault is sealed/,
    );
    expect((refused as Error).message).not.toContain(TOKEN);

    answer = () => ({ status: 200, body: { data: { plaintext: Buffer.alloc(16).toString('base64') } } });
    await expect(unsealer.unwrap('vault:v1:x')).rejects.toThrow(/not a 256-bit key/);
  });

  it('names an unreachable unsealer by its address and the network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unsealer = createTransitUnsealer(config({ address: `http://127.0.0.1:${port}` }));
    await expect(unsealer.unwrap('vault:v1:x')).rejects.toThrow(
      new RegExp(`unsealer at http://127.0.0.1:${port} cannot be reached: ECONNREFUSED`),
    );
  });
});
