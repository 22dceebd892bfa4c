/**
 * A minimal Vault-compatible dynamic-secrets endpoint for the operator's lease lifecycle tests: `database/creds/<role>`
 * hands out a new username/password with a lease, `sys/leases/renew|revoke` act on it, and `login()` answers what a
 * database would: does this username/password pair belong to a live credential? Leases expire on time.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeLease {
  id: string;
  username: string;
  password: string;
  expiresAt: number;
  maxAt: number;
  revoked: boolean;
}

export interface FakeVault {
  url: string;
  token: string;
  leases: FakeLease[];
  /** Like a database login: true while the pair's lease is neither revoked nor expired. */
  login(username: string, password: string): boolean;
  alive(): FakeLease[];
  /** Fail revocations (the database is down) until set back. */
  failRevocations: boolean;
  close(): Promise<void>;
}

export async function startFakeVault(options: { ttlSeconds: number; maxTtlSeconds: number }): Promise<FakeVault> {
  const token = `s.${randomBytes(8).toString('hex')}`;
  const leases: FakeLease[] = [];
  const live = (l: FakeLease) => !l.revoked && Date.now() < l.expiresAt;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.headers['x-vault-token'] !== token) return json(403, { errors: ['permission denied'] });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/v1/auth/token/lookup-self') return json(200, { data: { ttl: 0 } });
    const creds = /^\/v1\/database\/creds\/([a-z0-9-]+)$/.exec(url.pathname);
    if (creds && req.method === 'GET') {
      const now = Date.now();
      const lease: FakeLease = {
        id: `database/creds/${creds[1]}/${randomBytes(6).toString('hex')}`,
        username: `v-${creds[1]}-${randomBytes(4).toString('hex')}`,
        password: randomBytes(12).toString('base64url'),
        expiresAt: now + options.ttlSeconds * 1000,
        maxAt: now + options.maxTtlSeconds * 1000,
        revoked: false,
      };
      leases.push(lease);
      return json(200, {
        lease_id: lease.id,
        lease_duration: options.ttlSeconds,
        renewable: options.maxTtlSeconds > options.ttlSeconds,
        data: { username: lease.username, password: lease.password },
      });
    }
    const lease = leases.find((l) => l.id === body.lease_id);
    if (url.pathname === '/v1/sys/leases/renew' && req.method === 'PUT') {
      if (!lease || !live(lease)) return json(400, { errors: ['lease not found or lease is not renewable'] });
      const now = Date.now();
      lease.expiresAt = Math.min(now + (body.increment ?? options.ttlSeconds) * 1000, lease.maxAt);
      return json(200, {
        lease_id: lease.id,
        lease_duration: Math.max(0, Math.round((lease.expiresAt - now) / 1000)),
        renewable: lease.expiresAt < lease.maxAt,
      });
    }
    if (url.pathname === '/v1/sys/leases/revoke' && req.method === 'PUT') {
      if (fake.failRevocations) return json(500, { errors: ['failed to revoke: database unreachable'] });
      if (lease) lease.revoked = true;
      return res.writeHead(204).end();
    }
    json(404, { errors: [] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeVault = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    leases,
    failRevocations: false,
    login: (username, password) => leases.some((l) => l.username === username && l.password === password && live(l)),
    alive: () => leases.filter(live),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return fake;
}
