/** The lease calls over a local server: Vault's paths, methods and bodies, and the envelope parsed back. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrongroomError } from '../shared/errors.js';
import {
  ApiError,
  createClient,
  leaseOf,
  lookupLease,
  renewLease,
  revokeLease,
  revokeLeaseForce,
  revokeLeasePrefix,
} from './index.js';

let server: Server;
let address: string;
const seen: Array<{ method: string; url: string; body: unknown }> = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
    seen.push({ method: req.method!, url: req.url!, body });
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (body.lease_id === 'gone') return json(400, { errors: ['lease not found'] });
    if (req.url === '/v1/sys/leases/renew')
      return json(200, {
        lease_id: body.lease_id,
        lease_duration: 60,
        renewable: true,
        data: null,
        ...(body.increment > 60 ? { warnings: ['TTL of "2h" exceeded the effective max_ttl; capped', 7] } : {}),
      });
    if (/^\/v1\/sys\/leases\/revoke(-prefix|-force)?(\/|$)/.test(req.url!)) return res.writeHead(204).end();
    json(200, {
      data: {
        id: body.lease_id,
        issue_time: '2026-01-01T00:00:00Z',
        expire_time: '2026-01-01T00:01:00Z',
        last_renewal: null,
        renewable: true,
        ttl: 42,
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('lease calls', () => {
  const client = () => createClient({ address, token: 't' });

  it('renew PUTs lease_id and increment to sys/leases/renew and returns the granted duration', async () => {
    seen.length = 0;
    expect(await renewLease(client(), 'database/creds/app/abc', 30)).toEqual({
      leaseId: 'database/creds/app/abc',
      leaseDuration: 60,
      renewable: true,
    });
    expect(seen).toEqual([
      { method: 'PUT', url: '/v1/sys/leases/renew', body: { lease_id: 'database/creds/app/abc', increment: 30 } },
    ]);
  });

  it('revoke PUTs lease_id to sys/leases/revoke; lookup parses Vault’s data block', async () => {
    seen.length = 0;
    await revokeLease(client(), 'database/creds/app/abc');
    expect(seen[0]).toEqual({
      method: 'PUT',
      url: '/v1/sys/leases/revoke',
      body: { lease_id: 'database/creds/app/abc' },
    });
    expect(await lookupLease(client(), 'x/1')).toEqual({
      id: 'x/1',
      issueTime: '2026-01-01T00:00:00Z',
      expireTime: '2026-01-01T00:01:00Z',
      lastRenewal: null,
      renewable: true,
      ttl: 42,
    });
  });

  it("renew passes the server's warnings on (a capped increment), and only when there are some", async () => {
    expect(await renewLease(client(), 'database/creds/app/abc', 7200)).toEqual({
      leaseId: 'database/creds/app/abc',
      leaseDuration: 60,
      renewable: true,
      warnings: ['TTL of "2h" exceeded the effective max_ttl; capped'],
    });
    expect(Object.keys(await renewLease(client(), 'database/creds/app/abc'))).not.toContain('warnings');
  });

  it('revoke sends sync only when asked; revoke-prefix and revoke-force put the prefix in the path', async () => {
    seen.length = 0;
    await revokeLease(client(), 'a/b/1', { sync: false });
    await revokeLeasePrefix(client(), 'database/creds/app', { sync: true });
    await revokeLeasePrefix(client(), '/database/creds');
    await revokeLeaseForce(client(), 'database/creds/app');
    expect(seen).toEqual([
      { method: 'PUT', url: '/v1/sys/leases/revoke', body: { lease_id: 'a/b/1', sync: false } },
      { method: 'PUT', url: '/v1/sys/leases/revoke-prefix/database/creds/app', body: { sync: true } },
      { method: 'PUT', url: '/v1/sys/leases/revoke-prefix/database/creds', body: {} },
      { method: 'PUT', url: '/v1/sys/leases/revoke-force/database/creds/app', body: {} },
    ]);
  });

  it('an empty prefix is refused before sending (it would name the endpoint itself)', async () => {
    seen.length = 0;
    await expect(revokeLeasePrefix(client(), '')).rejects.toBeInstanceOf(StrongroomError);
    await expect(revokeLeaseForce(client(), '/')).rejects.toBeInstanceOf(StrongroomError);
    expect(seen).toEqual([]);
  });

  it('an unknown lease is an ApiError with the server’s message', async () => {
    await expect(renewLease(client(), 'gone')).rejects.toBeInstanceOf(ApiError);
  });

  it('leaseOf reads the envelope, and nothing from an answer without a lease', () => {
    expect(leaseOf({ lease_id: 'a/b', lease_duration: 6, renewable: false, data: {} })).toEqual({
      leaseId: 'a/b',
      leaseDuration: 6,
      renewable: false,
    });
    expect(leaseOf({ lease_id: '', data: {} })).toBeUndefined();
    expect(leaseOf(undefined)).toBeUndefined();
  });
});
