import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with the system's openssl. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
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
      '-days',
      '1',
      '-subj',
      '/CN=strongroom-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

describe('TLS listener (--tls-cert-file / --tls-key-file)', () => {
  let dir: string;
  let server: StartedServer;
  let ca: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-tls-'));
    const { cert, key } = makeCertificate(dir);
    ca = readFileSync(cert);
    server = await startServer({ args: [`--tls-cert-file=${cert}`, `--tls-key-file=${key}`] });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https and node-vault talks to it with the CA, including LIST', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = nodeVault({
      apiVersion: 'v1',
      endpoint: server.url,
      token: server.rootToken,
      requestOptions: { ca },
    });
    await client.write('secret/data/tls/a', { data: { v: 'over-tls' } });
    await client.write('secret/data/tls/b', { data: { v: 'also' } });
    expect((await client.read('secret/data/tls/a')).data.data.v).toBe('over-tls');
    // LIST is not a method Node's HTTP parser knows; the TLS listener must accept it like the plain one.
    expect((await client.list('secret/metadata/tls')).data.keys).toEqual(['a', 'b']);
    expect((await client.tokenAccessors()).data.keys.length).toBeGreaterThan(0);
    expect(await client.health()).toMatchObject({ initialized: true, sealed: false });
  });

  it('is a real TLS check: an unknown CA is refused unless verification is switched off', async () => {
    const strict = nodeVault({ apiVersion: 'v1', endpoint: server.url, token: server.rootToken });
    await expect(strict.read('secret/data/tls/a')).rejects.toThrow(/self[- ]signed|certificate/i);
    const insecure = nodeVault({
      apiVersion: 'v1',
      endpoint: server.url,
      token: server.rootToken,
      requestOptions: { strictSSL: false },
    });
    expect((await insecure.list('secret/metadata/tls')).data.keys).toEqual(['a', 'b']);
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const plain = server.url.replace('https://', 'http://');
    const outcome = await fetch(`${plain}/v1/sys/health`).then(
      (res) => `status ${res.status}`,
      () => 'refused',
    );
    expect(outcome).not.toBe('status 200');
  });
});
