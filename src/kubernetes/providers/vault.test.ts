/**
 * The vault provider against a small Vault-shaped HTTP fake: KV v1 (which Strongroom does not serve, HashiCorp Vault
 * does), AppRole and Kubernetes logins (the service-account token comes from the Kubernetes API double's
 * TokenRequest), re-login after a revoked token, and error mapping. KV v2 with token auth against the real server is
 * covered by test/integration/operator.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../../test/support/kube-api/index.js';
import { StrongroomError } from '../../shared/errors.js';
import type { SecretStore, VaultProviderSpec } from '../api/secret-store.js';
import { RemoteNotFoundError, StoreUnavailableError } from '../types.js';
import { readContextQuery, vaultProvider } from './vault.js';

interface Request {
  method: string;
  path: string;
  token: string | undefined;
  body: Record<string, string>;
}

let fake: Server;
let url: string;
const requests: Request[] = [];
let validTokens = new Set<string>(['root-token']);
let sealed = false;
let kube: KubeApiServer;
let kc: KubeConfig;

const kv1: Record<string, Record<string, unknown>> = {
  'app/db': { password: 'pw1', user: 'u' },
  'app/nested/x': { v: 1 },
};

async function bodyOf(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
}

beforeAll(async () => {
  kube = await createKubeApiServer();
  kube.create('serviceaccounts', { metadata: { name: 'reader', namespace: 'default' } });
  kc = new KubeConfig();
  kc.loadFromFile(await writeKubeconfig(kube.url));
  fake = createServer(async (req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const token = req.headers['x-vault-token'] as string | undefined;
    const body = await bodyOf(req);
    requests.push({ method: req.method!, path, token, body });
    const send = (status: number, json: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    if (sealed) return send(503, { errors: ['Vault is sealed'] });
    if (path === '/v1/auth/approle/login') {
      if (body.role_id === 'role-1' && body.secret_id === 'sid-1') {
        validTokens.add('approle-token');
        return send(200, { auth: { client_token: 'approle-token', lease_duration: 3600 } });
      }
      return send(400, { errors: ['invalid role or secret ID'] });
    }
    if (path === '/v1/auth/kubernetes/login') {
      const claims = JSON.parse(Buffer.from(body.jwt!.split('.')[1]!, 'base64url').toString());
      if (
        body.role === 'reader' &&
        claims.sub === 'system:serviceaccount:default:reader' &&
        claims.aud.includes('vault')
      ) {
        validTokens.add('k8s-token');
        return send(200, { auth: { client_token: 'k8s-token', lease_duration: 600 } });
      }
      return send(403, { errors: ['permission denied'] });
    }
    if (!token || !validTokens.has(token)) return send(403, { errors: ['permission denied'] });
    if (path === '/v1/auth/token/lookup-self') return send(200, { data: { id: 'x' } });
    const m = /^\/v1\/kv\/(.*)$/.exec(path);
    if (m && new URL(req.url!, 'http://x').searchParams.get('list') === 'true') {
      const prefix = m[1]!;
      const keys = new Set<string>();
      for (const k of Object.keys(kv1))
        if (k.startsWith(prefix)) keys.add(k.slice(prefix.length).replace(/\/.*$/, '/'));
      return keys.size ? send(200, { data: { keys: [...keys] } }) : send(404, { errors: [] });
    }
    if (m && kv1[m[1]!]) return send(200, { data: kv1[m[1]!] });
    return send(404, { errors: [] });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});
afterAll(async () => {
  fake.closeAllConnections();
  await new Promise((r) => fake.close(r));
  await kube.close();
});

function storeWith(auth: VaultProviderSpec['auth']): SecretStore {
  return {
    kind: 'SecretStore',
    metadata: { name: 'v', namespace: 'default' },
    spec: { refreshInterval: '5m', provider: { vault: { server: url, path: 'kv', version: 'v1', auth } } },
  };
}
const secrets: Record<string, string> = { token: 'root-token', 'role-id': 'role-1', 'secret-id': 'sid-1' };
const readSecretKey = async (ref: { key: string }) => secrets[ref.key]!;

describe('vault provider', () => {
  it('reads KV v1 values, maps and properties with a token from a Secret', async () => {
    const client = await vaultProvider({
      store: storeWith({ tokenSecretRef: { name: 's', key: 'token' } }),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
    });
    expect((await client.getSecret({ key: 'app/db', property: 'password' })).value.toString()).toBe('pw1');
    expect(JSON.parse((await client.getSecret({ key: 'app/db' })).value.toString())).toEqual({
      password: 'pw1',
      user: 'u',
    });
    const map = await client.getSecretMap({ key: 'app/db' });
    expect(Object.keys(map.data).sort()).toEqual(['password', 'user']);
    await expect(client.getSecret({ key: 'app/none' })).rejects.toBeInstanceOf(RemoteNotFoundError);
    const found = await client.findSecrets({ path: 'app' });
    expect(Object.keys(found).sort()).toEqual(['db', 'nested_x']);
    await client.validate();
    expect(requests.at(-1)).toMatchObject({ path: '/v1/auth/token/lookup-self', token: 'root-token' });
  });

  it('reports a property that is not a JSON map without quoting the secret value', async () => {
    const client = await vaultProvider({
      store: storeWith({ tokenSecretRef: { name: 's', key: 'token' } }),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
    });
    // 'pw1' is not JSON: JSON.parse's own message would quote it ("pw1" is not valid JSON) into the operator log.
    const err = await client.getSecretMap({ key: 'app/db', property: 'password' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(StrongroomError);
    expect(err!.message).toBe('"app/db" property "password" is not a map');
    expect(err!.message).not.toContain('pw1');
  });

  it('logs in with AppRole and logs in again when the token is revoked', async () => {
    const client = await vaultProvider({
      store: storeWith({
        appRole: {
          path: 'approle',
          roleRef: { name: 's', key: 'role-id' },
          secretRef: { name: 's', key: 'secret-id' },
        },
      }),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
    });
    const before = requests.length;
    await client.getSecret({ key: 'app/db', property: 'user' });
    expect(requests.slice(before).map((r) => r.path)).toEqual(['/v1/auth/approle/login', '/v1/kv/app/db']);
    validTokens.delete('approle-token');
    expect((await client.getSecret({ key: 'app/db', property: 'user' })).value.toString()).toBe('u');
    expect(requests.filter((r) => r.path === '/v1/auth/approle/login')).toHaveLength(2);
  });

  it('logs in with a service-account token from the TokenRequest API', async () => {
    const client = await vaultProvider({
      store: storeWith({
        kubernetes: {
          mountPath: 'kubernetes',
          role: 'reader',
          serviceAccountRef: { name: 'reader', audiences: ['vault'] },
        },
      }),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
    });
    expect((await client.getSecret({ key: 'app/db', property: 'password' })).value.toString()).toBe('pw1');
    expect(requests.at(-1)!.token).toBe('k8s-token');
  });

  it('reports a sealed or unreachable store as StoreUnavailable and bad credentials at validate()', async () => {
    const client = await vaultProvider({
      store: storeWith({ tokenSecretRef: { name: 's', key: 'token' } }),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
    });
    sealed = true;
    await expect(client.getSecret({ key: 'app/db' })).rejects.toBeInstanceOf(StoreUnavailableError);
    sealed = false;
    const bad = await vaultProvider({
      store: storeWith({ tokenSecretRef: { name: 's', key: 'token' } }),
      namespace: 'default',
      readSecretKey: async () => 'wrong',
      kubeConfig: kc,
    });
    await expect(bad.validate()).rejects.toThrow(/rejected our credentials/);
    const down = await vaultProvider({
      store: {
        ...storeWith({ tokenSecretRef: { name: 's', key: 'token' } }),
        spec: {
          refreshInterval: '5m',
          provider: {
            vault: {
              server: 'http://127.0.0.1:1',
              path: 'kv',
              version: 'v1',
              auth: { tokenSecretRef: { name: 's', key: 'token' } },
            },
          },
        },
      },
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
    });
    await expect(down.getSecret({ key: 'x' })).rejects.toBeInstanceOf(StoreUnavailableError);
    validTokens = new Set(['root-token']);
  });
});

describe('read context', () => {
  it('travels as the query parameters the store records in its audit entry, with a bounded reason', () => {
    expect(
      readContextQuery({
        purpose: 'rollback',
        externalSecret: 'shop/db',
        fromVersion: '7',
        reason: 'wave canary failed',
      }),
    ).toEqual({
      strongroom_rollout: 'rollback',
      strongroom_externalsecret: 'shop/db',
      strongroom_from_version: '7',
      strongroom_reason: 'wave canary failed',
    });
    const undo = readContextQuery({ purpose: 'undo', externalSecret: 'shop/db', reason: 'x'.repeat(1000) });
    expect(undo).not.toHaveProperty('strongroom_from_version');
    expect(undo.strongroom_reason).toHaveLength(200);
  });
});

describe("vault provider over TLS: the operator's --ca-cert for stores without a caBundle", () => {
  let dir: string;
  let tlsServer: HttpsServer;
  let tlsUrl: string;
  let ca: Buffer;
  let otherCa: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sr-vault-tls-'));
    const made = selfSigned(dir, 'store');
    ca = readFileSync(made.cert);
    otherCa = readFileSync(selfSigned(dir, 'other').cert);
    tlsServer = createHttpsServer({ cert: ca, key: readFileSync(made.key) }, (req, res) => {
      const ok = req.url === '/v1/auth/token/lookup-self' && req.headers['x-vault-token'] === 'root-token';
      res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' }).end(ok ? '{"data":{}}' : '{"errors":[]}');
    });
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    tlsUrl = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    tlsServer.closeAllConnections();
    await new Promise((r) => tlsServer.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsStore = (caBundle?: Buffer): SecretStore => ({
    kind: 'SecretStore',
    metadata: { name: 'v', namespace: 'default' },
    spec: {
      refreshInterval: '5m',
      provider: {
        vault: {
          server: tlsUrl,
          path: 'kv',
          version: 'v1',
          auth: { tokenSecretRef: { name: 's', key: 'token' } },
          ...(caBundle ? { caBundle: caBundle.toString('base64') } : {}),
        },
      },
    },
  });

  it('verifies the store against the given CA; without it (nothing process-wide) the store is not trusted', async () => {
    const trusting = await vaultProvider({
      store: tlsStore(),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
      storeCa: ca,
    });
    await trusting.validate();
    const plain = await vaultProvider({ store: tlsStore(), namespace: 'default', readSecretKey, kubeConfig: kc });
    await expect(plain.validate()).rejects.toBeInstanceOf(StoreUnavailableError);
    // A store's own caBundle wins over the operator's CA.
    const own = await vaultProvider({
      store: tlsStore(otherCa),
      namespace: 'default',
      readSecretKey,
      kubeConfig: kc,
      storeCa: ca,
    });
    await expect(own.validate()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

/** A throwaway self-signed certificate for 127.0.0.1 (its own CA), made with the system's openssl. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
