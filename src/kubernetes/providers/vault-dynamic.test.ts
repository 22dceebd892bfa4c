/** The Vault provider's dynamic-credential calls against a local HTTP server: paths, methods, hold=true, results. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Method } from '../../client/index.js';
import { LeaseGoneError } from '../types.js';
import { createVaultDynamic } from './vault-dynamic.js';

let server: Server;
let address: string;
const seen: { method: string; url: string; body: unknown }[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    seen.push({ method: req.method!, url: req.url!, body });
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url?.startsWith('/v1/sys/leases/')) {
      if (body?.lease_id === 'gone') return json(400, { errors: ['invalid lease ID'] });
      if (body?.lease_id === 'stuck' && req.url.endsWith('/renew'))
        return json(400, { errors: ['failed to renew entry: Error (ECONNREFUSED)'] });
      if (body?.lease_id === 'stuck')
        return json(400, { errors: ['failed to revoke entry: unavailable: failed to revoke database user'] });
      if (req.url.endsWith('/revoke')) return res.writeHead(204).end();
      return json(200, { lease_id: body.lease_id, lease_duration: 30, renewable: true });
    }
    if (req.url?.startsWith('/v1/database/static-creds/'))
      return json(200, {
        lease_id: 'database/static-creds/app/h1',
        lease_duration: 60,
        renewable: false,
        data: { username: 'app-b', password: 'pw-b', ttl: 3600 },
      });
    if (req.url?.startsWith('/v1/pki/issue/'))
      return json(200, { lease_id: '', data: { certificate: 'CERT', ca_chain: ['A', 'B'] }, auth: null });
    if (req.url === '/v1/auth/approle/login')
      return json(200, { auth: { client_token: 'tok', policies: ['a'] }, data: null });
    json(404, { errors: [] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const dynamic = () => {
  const http = createClient({ address, token: 't' });
  return createVaultDynamic(
    (method: Method, path, options) =>
      http.request(method, path, {
        ...(options.query ? { query: options.query } : {}),
        ...(options.body !== undefined ? { body: options.body } : {}),
      }),
    () => undefined,
  );
};

describe('dynamic credentials from a Vault-compatible store', () => {
  it('reads a static role with hold=true and returns its lease and fields', async () => {
    seen.length = 0;
    const got = await dynamic().generate({
      path: 'database/static-creds/app',
      method: 'GET',
      parameters: {},
      resultType: 'Data',
    });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/database/static-creds/app?hold=true' });
    expect(got.lease).toEqual({ leaseId: 'database/static-creds/app/h1', leaseDuration: 60, renewable: false });
    expect(got.data.username!.toString()).toBe('app-b');
    expect(got.data.password!.toString()).toBe('pw-b');
  });

  it('POSTs parameters as the body; non-string fields become JSON; no lease without a lease_id', async () => {
    seen.length = 0;
    const got = await dynamic().generate({
      path: 'pki/issue/web',
      method: 'POST',
      parameters: { common_name: 'a.example' },
      resultType: 'Data',
    });
    expect(seen[0]).toMatchObject({ method: 'POST', body: { common_name: 'a.example' } });
    expect(got.lease).toBeUndefined();
    expect(got.data.ca_chain!.toString()).toBe('["A","B"]');
  });

  it('resultType Auth takes the auth block; Raw the whole answer', async () => {
    const auth = await dynamic().generate({
      path: 'auth/approle/login',
      method: 'POST',
      parameters: {},
      resultType: 'Auth',
    });
    expect(auth.data.client_token!.toString()).toBe('tok');
    const raw = await dynamic().generate({ path: 'pki/issue/web', method: 'POST', parameters: {}, resultType: 'Raw' });
    expect(Object.keys(raw.data).sort()).toEqual(['data', 'lease_id']);
    await expect(
      dynamic().generate({ path: 'pki/issue/web', method: 'POST', parameters: {}, resultType: 'Auth' }),
    ).rejects.toThrow(/without an auth block/);
  });

  it('renew returns the granted duration; a lease the store no longer has is LeaseGoneError; revoking it is fine', async () => {
    expect(await dynamic().renew('database/creds/app/x', 30)).toEqual({ leaseDuration: 30, renewable: true });
    await expect(dynamic().renew('gone', 30)).rejects.toBeInstanceOf(LeaseGoneError);
    await expect(dynamic().revoke('gone')).resolves.toBeUndefined();
  });

  it('a revocation the store could not complete (400 "failed to revoke entry") is an error to retry, not a gone lease', async () => {
    await expect(dynamic().revoke('stuck')).rejects.toThrow(/failed to revoke entry/);
  });

  it('a renewal the store could not make (400 "failed to renew entry") is an error to retry, not a gone lease', async () => {
    const renewal = dynamic().renew('stuck', 30);
    await expect(renewal).rejects.toThrow(/failed to renew entry/);
    await expect(renewal).rejects.not.toBeInstanceOf(LeaseGoneError);
    await expect(dynamic().renew('gone', 30)).rejects.toBeInstanceOf(LeaseGoneError);
  });
});
