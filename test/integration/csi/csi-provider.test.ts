import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { SignJWT, importPKCS8 } from 'jose';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableAuthMethods, startServer, type StartedServer } from '../../support/server-process.js';
import { call, grpcClient, spawnPlugin, vault, type PluginProcess } from '../kms/support.js';

interface MountResponse {
  object_version: Array<{ id: string; version: string }>;
  files: Array<{ path: string; mode: number; contents: Buffer }>;
}

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const AUDIENCE = 'strongroom';

describe('strongroom csi-provider (Secrets Store CSI provider against a real server)', () => {
  let dir: string;
  let server: StartedServer;
  let provider: PluginProcess;
  let socket: string;
  let client: grpc.Client & Record<string, unknown>;
  let auditFile: string;
  let privateKeyPem: string;

  const root = (method: string, path: string, body?: unknown) =>
    vault(server.url, server.rootToken, method, path, body);

  /** A projected service-account token, as the CSI driver would pass it for the pod. */
  async function podJwt(namespace: string, serviceAccount: string, audience = AUDIENCE): Promise<string> {
    const key = await importPKCS8(privateKeyPem, 'RS256');
    return new SignJWT({
      'kubernetes.io': {
        namespace,
        serviceaccount: { name: serviceAccount, uid: randomUUID() },
        pod: { name: `${serviceAccount}-0`, uid: randomUUID() },
      },
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'test' })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);
  }

  async function attributes(
    namespace: string,
    serviceAccount: string,
    role: string,
    objects: string,
    extra: Record<string, string> = {},
  ) {
    return JSON.stringify({
      roleName: role,
      objects,
      'csi.storage.k8s.io/pod.name': `${serviceAccount}-0`,
      'csi.storage.k8s.io/pod.namespace': namespace,
      'csi.storage.k8s.io/serviceAccount.name': serviceAccount,
      'csi.storage.k8s.io/serviceAccount.tokens': JSON.stringify({
        [AUDIENCE]: {
          token: await podJwt(namespace, serviceAccount),
          expirationTimestamp: new Date(Date.now() + 600_000).toISOString(),
        },
      }),
      audience: AUDIENCE,
      ...extra,
    });
  }

  const mount = (attrs: string, current: Array<{ id: string; version: string }> = []) =>
    call<MountResponse>(
      client,
      'Mount',
      {
        attributes: attrs,
        secrets: '{}',
        target_path: '/var/lib/kubelet/pods/x/volumes/v',
        permission: '420',
        current_object_version: current,
      },
      10_000,
    );

  const WEB_OBJECTS = `
- objectName: db-password
  secretPath: secret/data/web/db
  secretKey: password
- objectName: db-user
  secretPath: secret/data/web/db
  secretKey: username
  filePermission: "0600"
- objectName: tls/cert.der
  secretPath: secret/data/web/tls
  secretKey: cert
  encoding: base64
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strongroom-csi-'));
    auditFile = join(dir, 'audit.log');
    server = await startServer({ dataDir: join(dir, 'data'), args: [`--audit-file=${auditFile}`] });
    await enableAuthMethods(server, 'kubernetes');
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKeyPem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(
      (
        await root('POST', 'auth/kubernetes/config', {
          kubernetes_host: 'https://127.0.0.1:6443',
          pem_keys: [publicPem],
          issuer: ISSUER,
        })
      ).status,
    ).toBeLessThan(300);
    await root('PUT', 'sys/policies/acl/web', { policy: 'path "secret/data/web/*" { capabilities = ["read"] }' });
    await root('PUT', 'sys/policies/acl/worker', { policy: 'path "secret/data/worker/*" { capabilities = ["read"] }' });
    for (const [role, sa, policy] of [
      ['web', 'web', 'web'],
      ['worker', 'worker', 'worker'],
    ] as const) {
      const r = await root('POST', `auth/kubernetes/role/${role}`, {
        bound_service_account_names: [sa],
        bound_service_account_namespaces: ['shop'],
        token_policies: [policy],
        audience: AUDIENCE,
        token_ttl: '5m',
      });
      expect(r.status).toBeLessThan(300);
    }
    await root('POST', 'secret/data/web/db', {
      data: { username: 'web_app', password: 'correct horse battery staple' },
    });
    await root('POST', 'secret/data/web/tls', { data: { cert: Buffer.from([0, 1, 2, 254, 255]).toString('base64') } });
    await root('POST', 'secret/data/worker/queue', { data: { url: 'amqp://queue', token: 'q-123' } });
    socket = join(dir, 'strongroom.sock');
    provider = await spawnPlugin(['csi-provider', '--socket', socket, '--address', server.url], {}, socket);
    client = grpcClient('csi/v1alpha1/service.proto', 'v1alpha1.CSIDriverProvider', socket);
  });

  afterAll(async () => {
    client?.close();
    await provider?.stop();
    await server?.stop({ keepDataDir: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers Version and serves on a 0600 socket', async () => {
    expect(await call(client, 'Version', { version: 'v1alpha1' })).toEqual({
      version: 'v1alpha1',
      runtime_name: 'strongroom',
      runtime_version: '0.1.0',
    });
    expect(statSync(socket).mode & 0o777).toBe(0o600);
  });

  it("mounts exactly what the pod's own policy allows, with modes, encodings and versions", async () => {
    const web = await mount(await attributes('shop', 'web', 'web', WEB_OBJECTS));
    const files = Object.fromEntries(web.files.map((f) => [f.path, f]));
    expect(Object.keys(files).sort()).toEqual(['db-password', 'db-user', 'tls/cert.der']);
    expect(files['db-password']!.contents.toString()).toBe('correct horse battery staple');
    expect(files['db-password']!.mode).toBe(0o644);
    expect(files['db-user']!.mode).toBe(0o600);
    expect([...files['tls/cert.der']!.contents]).toEqual([0, 1, 2, 254, 255]);
    expect(web.object_version).toEqual([
      { id: 'db-password', version: '1' },
      { id: 'db-user', version: '1' },
      { id: 'tls/cert.der', version: '1' },
    ]);

    const worker = await mount(
      await attributes('shop', 'worker', 'worker', '- {objectName: queue.json, secretPath: secret/data/worker/queue}'),
    );
    expect(JSON.parse(worker.files[0]!.contents.toString())).toEqual({ url: 'amqp://queue', token: 'q-123' });
  });

  it('fails the whole mount when one object is denied, with a clear error', async () => {
    const objects = `${WEB_OBJECTS}- {objectName: stolen, secretPath: secret/data/worker/queue, secretKey: token}\n`;
    const err = await mount(await attributes('shop', 'web', 'web', objects)).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpcStatus.PERMISSION_DENIED });
    expect((err as grpc.ServiceError).details).toMatch(/stolen/);
    expect((err as grpc.ServiceError).details).not.toMatch(/q-123/);
  });

  it('refuses a pod whose service account is not bound to the role', async () => {
    const err = await mount(await attributes('shop', 'worker', 'web', WEB_OBJECTS)).catch((e: grpc.ServiceError) => e);
    expect(err).toMatchObject({ code: grpcStatus.PERMISSION_DENIED });
    expect((err as grpc.ServiceError).details).toMatch(/login/);
  });

  it('cannot reach values past a deny on data/ through another endpoint (diff), and still mounts them elsewhere', async () => {
    // Issue 14: with read on secret/* and a deny on secret/data/admin/*, a diff with values used to mount admin values.
    await root('PUT', 'sys/policies/acl/browser', {
      policy:
        'path "secret/*" { capabilities = ["read", "list"] }\npath "secret/data/admin/*" { capabilities = ["deny"] }',
    });
    const role = await root('POST', 'auth/kubernetes/role/browser', {
      bound_service_account_names: ['browser'],
      bound_service_account_namespaces: ['shop'],
      token_policies: ['browser'],
      audience: AUDIENCE,
      token_ttl: '5m',
    });
    expect(role.status).toBeLessThan(300);
    for (const path of ['admin/root', 'web/feed']) {
      await root('POST', `secret/data/${path}`, { data: { key: `${path}-one` } });
      await root('POST', `secret/data/${path}`, { data: { key: `${path}-two` } });
    }
    const diffObject = (path: string) =>
      `- objectName: changes.json\n  secretPath: secret/diff/${path}\n  secretKey: values\n  secretArgs: {from: 1, to: 2, show_values: true}\n`;

    const err = await mount(await attributes('shop', 'browser', 'browser', diffObject('admin/root'))).catch(
      (e: grpc.ServiceError) => e,
    );
    expect(err).toMatchObject({ code: grpcStatus.PERMISSION_DENIED });
    expect((err as grpc.ServiceError).details).not.toMatch(/admin\/root-/);
    const direct = await mount(
      await attributes(
        'shop',
        'browser',
        'browser',
        '- {objectName: k, secretPath: secret/data/admin/root, secretKey: key}',
      ),
    ).catch((e: grpc.ServiceError) => e);
    expect(direct).toMatchObject({ code: grpcStatus.PERMISSION_DENIED });

    const allowed = await mount(await attributes('shop', 'browser', 'browser', diffObject('web/feed')));
    expect(JSON.parse(allowed.files[0]!.contents.toString())).toEqual({
      key: { from: 'web/feed-one', to: 'web/feed-two' },
    });
  });

  it('reports a missing secret or key as NOT_FOUND and bad parameters as INVALID_ARGUMENT', async () => {
    await expect(
      mount(
        await attributes('shop', 'web', 'web', '- {objectName: a, secretPath: secret/data/web/nope, secretKey: x}'),
      ),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await expect(
      mount(
        await attributes('shop', 'web', 'web', '- {objectName: a, secretPath: secret/data/web/db, secretKey: nope}'),
      ),
    ).rejects.toMatchObject({ code: grpcStatus.NOT_FOUND });
    await expect(
      mount(await attributes('shop', 'web', 'web', '- {objectName: ../../etc/passwd, secretPath: secret/data/web/db}')),
    ).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
    await expect(mount(await attributes('shop', 'web', 'web', 'not: a list'))).rejects.toMatchObject({
      code: grpcStatus.INVALID_ARGUMENT,
    });
  });

  it('reports unchanged versions on a poll, and new versions after a write', async () => {
    const attrs = await attributes('shop', 'web', 'web', WEB_OBJECTS);
    const first = await mount(attrs);
    const poll = await mount(attrs, first.object_version);
    expect(poll.object_version).toEqual(first.object_version);
    expect(poll.files.map((f) => f.contents.toString('hex'))).toEqual(
      first.files.map((f) => f.contents.toString('hex')),
    );

    await root('POST', 'secret/data/web/db', { data: { username: 'web_app', password: 'rotated' } });
    const after = await mount(attrs, poll.object_version);
    const versions = Object.fromEntries(after.object_version.map((v) => [v.id, v.version]));
    expect(versions).toEqual({ 'db-password': '2', 'db-user': '2', 'tls/cert.der': '1' });
    expect(after.files.find((f) => f.path === 'db-password')!.contents.toString()).toBe('rotated');

    // Pinning a KV version (our `version` object option) keeps the mount on it.
    const pinned = await mount(
      await attributes(
        'shop',
        'web',
        'web',
        '- {objectName: p, secretPath: secret/data/web/db, secretKey: password, version: 1}',
      ),
    );
    expect(pinned.files[0]!.contents.toString()).toBe('correct horse battery staple');
    expect(pinned.object_version).toEqual([{ id: 'p', version: '1' }]);
  });

  it('reads as the pod: audit entries carry its namespace and service account, never the value', async () => {
    await mount(
      await attributes(
        'shop',
        'worker',
        'worker',
        '- {objectName: q, secretPath: secret/data/worker/queue, secretKey: token}',
      ),
    );
    const lines = readFileSync(auditFile, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { type: string; auth?: { metadata?: Record<string, string> }; request: { path: string } },
      );
    const reads = lines.filter((e) => e.request.path === 'secret/data/worker/queue' && e.type === 'response');
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.at(-1)!.auth?.metadata).toMatchObject({
      service_account_namespace: 'shop',
      service_account_name: 'worker',
    });
    expect(readFileSync(auditFile, 'utf8')).not.toContain('q-123');
  });
});
