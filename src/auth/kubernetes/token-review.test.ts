import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrongroomError } from '../../shared/errors.js';
import { hasOpenssl, selfSignedKeyPair } from './service-testing.js';
import { reviewToken } from './token-review.js';

// A real TLS API server with its own CA-less self-signed certificate: the review must succeed only when that
// certificate is configured as kubernetes_ca_cert.
describe.skipIf(!hasOpenssl())('TokenReview over TLS', () => {
  let server: Server;
  let host: string;
  let cert: string;

  beforeAll(async () => {
    const pair = selfSignedKeyPair('/CN=127.0.0.1', 'IP:127.0.0.1');
    cert = pair.cert;
    server = createServer({ key: pair.key, cert }, (req, res) => {
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
