/**
 * TLS against a real HTTPS server whose certificate is signed by a CA made for this test (openssl): trusted with
 * that CA, refused without it or with another CA, accepted unverified only when skip-verify is asked for.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsError } from './errors.js';
import { createClient } from './index.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, and a certificate for 127.0.0.1 signed by it. */
function makePki(dir: string, name: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    dir,
    'req',
    '-x509',
    ...ec,
    '-keyout',
    `${name}-ca.key`,
    '-out',
    `${name}-ca.crt`,
    '-days',
    '1',
    '-subj',
    `/CN=${name} test CA`,
  );
  openssl(dir, 'req', ...ec, '-keyout', `${name}-server.key`, '-out', `${name}-server.csr`, '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}-server.csr`,
    '-CA',
    `${name}-ca.crt`,
    '-CAkey',
    `${name}-ca.key`,
    '-CAcreateserial',
    '-out',
    `${name}-server.crt`,
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}

describe.skipIf(!hasOpenssl())('TLS', () => {
  let dir: string;
  let server: Server;
  let address: string;
  let ca: Buffer;
  let otherCa: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-client-tls-'));
    makePki(dir, 'good');
    makePki(dir, 'other');
    ca = readFileSync(join(dir, 'good-ca.crt'));
    otherCa = readFileSync(join(dir, 'other-ca.crt'));
    server = createServer(
      { key: readFileSync(join(dir, 'good-server.key')), cert: readFileSync(join(dir, 'good-server.crt')) },
      (req, res) => {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ data: { path: req.url, token: req.headers['x-vault-token'] ?? null } }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the server through the CA that signed its certificate', async () => {
    const client = createClient({ address, ca, token: 'hvs.t' });
    expect(await client.read('sys/health')).toEqual({ data: { path: '/v1/sys/health', token: 'hvs.t' } });
    client.close();
  });

  it('refuses the server without that CA, or with another one, as a TlsError that sent nothing', async () => {
    for (const options of [{}, { ca: otherCa }]) {
      const err = await createClient({ address, token: 'hvs.t', ...options })
        .read('sys/health')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TlsError);
      expect((err as TlsError).message).toMatch(new RegExp(`^TLS verification of ${address} failed \\(.+\\)$`));
      expect((err as TlsError).message).not.toContain('hvs.t');
    }
  });

  it('accepts an unverified certificate only when skip-verify is asked for explicitly', async () => {
    await expect(createClient({ address, tlsSkipVerify: false }).read('sys/health')).rejects.toBeInstanceOf(TlsError);
    expect(await createClient({ address, tlsSkipVerify: true }).read('sys/health')).toMatchObject({
      data: { path: '/v1/sys/health' },
    });
  });

  it('checks the name: a certificate for 127.0.0.1 does not serve another name', async () => {
    const err = await createClient({ address, ca, servername: 'strongroom.example' })
      .read('sys/health')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsError);
  });
});
