import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrongroomError } from '../../shared/errors.js';
import { reviewToken } from './token-review.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// A real TLS API server with its own CA-less self-signed certificate: the review must succeed only when that
// certificate is configured as kubernetes_ca_cert.
describe.skipIf(!hasOpenssl())('TokenReview over TLS', () => {
  let server: Server;
  let host: string;
  let cert: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            status: { authenticated: true, user: { username: 'system:serviceaccount:prod:api', uid: 'u1' } },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    host = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('trusts the API server through the configured CA certificate', async () => {
    const identity = await reviewToken({ host, caCert: cert, bearer: 'reviewer', jwt: 'a.b.c' });
    expect(identity).toMatchObject({ namespace: 'prod', name: 'api', uid: 'u1' });
  });

  it('refuses an API server whose certificate it cannot verify', async () => {
    let caught: unknown;
    try {
      await reviewToken({ host, bearer: 'reviewer', jwt: 'a.b.c' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StrongroomError);
    expect((caught as StrongroomError).kind).toBe('unavailable');
  });
});
