import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with the system's openssl. */
function makeCertificate(dir: string, name = 'server'): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
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

/** The certificate a new TLS connection to `url` is served (its fingerprint), whoever signed it. */
function servedFingerprint(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function eventuallyServed(url: string, fingerprint: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await servedFingerprint(url)) === fingerprint) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(await servedFingerprint(url)).toBe(fingerprint);
}

const fingerprintOf = (pem: Buffer) => new X509Certificate(pem).fingerprint256;

describe.each([1, 2])('TLS certificate renewal (SIGHUP), %i request thread(s)', (threads) => {
  let dir: string;
  let server: StartedServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-tls-reload-'));
    const { cert, key } = makeCertificate(dir);
    server = await startServer({
      args: [`--tls-cert-file=${cert}`, `--tls-key-file=${key}`, `--request-threads=${threads}`],
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a renewed certificate after SIGHUP, and keeps the old one when the new pair does not match', async () => {
    const first = readFileSync(join(dir, 'server.crt'));
    expect(await servedFingerprint(server.url)).toBe(fingerprintOf(first));
    // Renewed in place, as cert-manager does: both files replaced, then SIGHUP.
    const renewed = makeCertificate(dir, 'renewed');
    copyFileSync(renewed.cert, join(dir, 'server.crt'));
    copyFileSync(renewed.key, join(dir, 'server.key'));
    server.proc.kill('SIGHUP');
    const second = readFileSync(renewed.cert);
    // Every thread reloads: many new connections all see the new certificate.
    await eventuallyServed(server.url, fingerprintOf(second));
    for (let i = 0; i < 8; i++) expect(await servedFingerprint(server.url)).toBe(fingerprintOf(second));

    // Half a renewal (a new certificate, the old key): refused, the working pair stays, the log says why.
    const other = makeCertificate(dir, 'other');
    copyFileSync(other.cert, join(dir, 'server.crt'));
    server.proc.kill('SIGHUP');
    for (let i = 0; i < 100 && !/TLS certificate not reloaded/.test(server.stdout() + server.stderr()); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.stdout() + server.stderr()).toMatch(/TLS certificate not reloaded; the previous one stays/);
    for (let i = 0; i < 8; i++) expect(await servedFingerprint(server.url)).toBe(fingerprintOf(second));
    expect(server.stdout() + server.stderr()).not.toContain(readFileSync(renewed.key, 'utf8').split('\n')[1]!);
  });
});

describe('TLS certificate renewal without a signal (--tls-reload-interval)', () => {
  let dir: string;
  let server: StartedServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-tls-poll-'));
    const { cert, key } = makeCertificate(dir);
    server = await startServer({
      args: [`--tls-cert-file=${cert}`, `--tls-key-file=${key}`, '--tls-reload-interval=1'],
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the renewed certificate once the files have changed and settled, as a Secret volume does', async () => {
    expect(await servedFingerprint(server.url)).toBe(fingerprintOf(readFileSync(join(dir, 'server.crt'))));
    const renewed = makeCertificate(dir, 'renewed');
    copyFileSync(renewed.cert, join(dir, 'server.crt'));
    copyFileSync(renewed.key, join(dir, 'server.key'));
    await eventuallyServed(server.url, fingerprintOf(readFileSync(renewed.cert)));
    expect(server.stdout() + server.stderr()).toMatch(/TLS certificate reloaded/);
  });
});
