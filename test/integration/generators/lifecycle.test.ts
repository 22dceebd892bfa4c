/**
 * The lease lifecycle of generated credentials, in the operator (in-process, the real Vault provider) against the
 * Kubernetes API double and a Vault-compatible dynamic-secrets endpoint whose credentials die on time: rotations
 * before expiry, rollouts through the rollout engine, the previous lease revoked only after the rollout succeeded,
 * a failed rollout rolled back to a credential that is still alive, and revocations retried while the store fails.
 *
 * Two consumers watch throughout, every 50 ms: one reads the Secret as a mounted volume would, the other checks the
 * credential of every running pod (the generation its pod template was rolled out with). Neither may ever hold a dead
 * credential.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import { startOperator, type Operator } from '../../../src/kubernetes/controller/operator.js';
import { A_VERSION } from '../../../src/kubernetes/controller/target-secret.js';
import { companionName } from '../../../src/kubernetes/generators/companion.js';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { eventually } from '../../support/eventually.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { createStoreNamespace } from '../rollout/support.js';
import { startFakeVault, type FakeVault } from './fake-vault.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const NS = 'apps';
const SECRET = 'db-creds';
let api: KubeApiServer;
let vault: FakeVault;
let operator: Operator;
let kubeconfigPath: string;
const logs: string[] = [];

/** Every credential a generation was seen with, by recorded version (gen-N). */
const seen = new Map<string, { username: string; password: string }>();
const failures: string[] = [];
let watcher: NodeJS.Timeout;

const es = () => api.get('externalsecrets', NS, 'db') as Loose;
const credentials = () => es()?.status?.credentials;
const rollout = () => es()?.status?.rollout;
const decode = (v: string | undefined) => (v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8'));

function watchConsumers(): void {
  const secret = api.get('secrets', NS, SECRET) as Loose;
  if (secret?.data) {
    const pair = { username: decode(secret.data.username), password: decode(secret.data.password) };
    const version = secret.metadata.annotations?.[A_VERSION];
    if (version) seen.set(version, pair);
    if (!vault.login(pair.username, pair.password)) failures.push(`Secret holds a dead credential (${version})`);
  }
  for (const pod of api.list('pods', NS) as Loose[]) {
    const version = pod.metadata.annotations?.[versionAnnotation(SECRET)];
    const running = pod.status?.conditions?.some((c: Loose) => c.type === 'Ready' && c.status === 'True');
    const pair = version ? seen.get(version) : undefined;
    if (running && pair && !vault.login(pair.username, pair.password))
      failures.push(`pod ${pod.metadata.name} runs ${version}, whose credential is dead`);
  }
}

beforeAll(async () => {
  api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: 600 });
  for (const crd of allCrds()) api.create('customresourcedefinitions', crd as Loose);
  const kc = new KubeConfig();
  kubeconfigPath = await writeKubeconfig(api.url);
  kc.loadFromFile(kubeconfigPath);
  // Not renewable past the first 6 s: every lease must be replaced before its end.
  vault = await startFakeVault({ ttlSeconds: 6, maxTtlSeconds: 6 });
  operator = await startOperator({
    kubeConfig: kc,
    operatorNamespace: 'default',
    rollouts: { pollMs: 40 },
    log: (m) => logs.push(m),
    readCacheTtlMs: 0,
  });
  createStoreNamespace(api, NS, { server: vault.url, token: vault.token, store: 'vault', tokenSecret: 'vault-token' });
  api.create('vaultdynamicsecrets', {
    apiVersion: 'strongroom.io/v1',
    kind: 'VaultDynamicSecret',
    metadata: { name: 'app-db', namespace: NS },
    // Replaced 4 s before the end: room for a failed rollout to be detected and rolled back while the old one lives.
    spec: { provider: { name: 'vault' }, path: 'database/creds/app', revokeGracePeriod: '200ms', renewBefore: '4s' },
  });
  api.create('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS, labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name: SECRET } }] }] },
      },
    },
  });
  watcher = setInterval(watchConsumers, 50);
}, 60_000);

afterAll(async () => {
  clearInterval(watcher);
  await operator?.shutdown();
  await vault?.close();
  await api?.close();
});

const succeededAt = (generation: number) => () => {
  const c = credentials();
  const r = rollout();
  return c?.current?.generation >= generation && r?.phase === 'Succeeded' && r.targetVersion === `gen-${generation}`
    ? c
    : undefined;
};

describe('generated credentials behind the operator', () => {
  it('rotates before expiry through three successful rollouts; each previous lease is revoked after its rollout', async () => {
    api.create('externalsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'db', namespace: NS },
      spec: {
        secretStoreRef: { name: 'vault', kind: 'SecretStore' },
        refreshInterval: '1h',
        target: { name: SECRET },
        dataFrom: [
          {
            sourceRef: { generatorRef: { apiVersion: 'strongroom.io/v1', kind: 'VaultDynamicSecret', name: 'app-db' } },
          },
        ],
        rollout: { strategy: 'Restart', healthTimeout: '10s' },
      },
    });
    const first = await eventually(succeededAt(1), 'generation 1 rolled out', 20_000);
    expect(first.current.leases).toMatchObject([
      { generator: 'app-db', leaseId: vault.leases[0]!.id, leaseDuration: 6, renewable: false },
    ]);
    await eventually(succeededAt(4), 'three rotations rolled out', 45_000);
    // Previous leases are revoked (not left to expire): all but the current (and one in its grace period).
    await eventually(() => vault.leases.slice(0, 3).every((l) => l.revoked), 'generations 1-3 revoked', 10_000);
    expect(failures).toEqual([]);
    const status = credentials();
    expect(status.lastGeneration).toBeGreaterThanOrEqual(4);
    // The status names leases, never values.
    expect(JSON.stringify(es().status)).not.toContain(vault.leases.at(-1)!.password);
    // The companion Secret holds only the generations still alive.
    const held = Object.keys((api.get('secrets', NS, companionName('db')) as Loose).data);
    expect(held.length).toBeLessThanOrEqual(2);
    expect(held).toContain(`gen-${status.current.generation}`);

    // `strongroom consumers` shows the lease each workload's credential lives on, and when it ends.
    const out = JSON.parse(await cli('consumers', `${NS}/${SECRET}`, '-o', 'json'));
    const web = out.consumers.find((c: Loose) => c.name === 'web');
    // (Rotations go on meanwhile: check against the generation the workload runs, not a status read before.)
    expect(web.leases).toEqual([
      {
        generation: Number(web.version.replace('gen-', '')),
        leaseId: expect.stringMatching(/^database\/creds\/app\//),
        expireTime: expect.any(String),
      },
    ]);
    const lease = vault.leases.find((l) => l.id === web.leases[0].leaseId)!;
    // The operator dates the lease from its own clock when the answer arrives: within a second of the store's.
    expect(Math.abs(Date.parse(web.leases[0].expireTime) - lease.expiresAt)).toBeLessThan(1000);
    expect(await cli('consumers', `${NS}/${SECRET}`)).toMatch(/Lease[\s\S]*database\/creds\/app\/[\s\S]*expires /);
  }, 90_000);

  it('a failed rollout is rolled back to the previous credential, which is still alive; the failed lease is revoked', async () => {
    // Between rotations (the current generation rolled out, the next not issued yet), the next rollout will fail.
    const settled = await eventually(() => {
      const c = credentials();
      const r = rollout();
      return r?.phase === 'Succeeded' && r.targetVersion === c?.current?.version ? c : undefined;
    }, 'a generation rolled out');
    const before = settled.current.generation as number;
    api.setRolloutOutcome({ namespace: NS, kind: 'Deployment', name: 'web' }, 'fail-next');
    const rolled = await eventually(
      () =>
        rollout()?.phase === 'RolledBack' && credentials()?.current?.generation === before ? rollout() : undefined,
      'rolled back and restored',
      30_000,
    );
    expect(rolled).toMatchObject({ targetVersion: `gen-${before + 1}`, previousVersion: `gen-${before}` });
    const failedLease = vault.leases.find((l) => l.id === seenLease(before + 1));
    await eventually(() => failedLease?.revoked, 'the failed generation revoked', 10_000);
    const restored = vault.leases.find((l) => l.id === credentials().current.leases[0].leaseId)!;
    expect(restored.revoked).toBe(false);
    // And the operator tries again later with a new credential, which rolls out.
    await eventually(succeededAt(before + 2), 'a later credential rolled out', 30_000);
    expect(failures).toEqual([]);
  }, 90_000);

  it('a revocation that fails is recorded and retried until the store accepts it', async () => {
    // Right after a rollout succeeded, inside the grace period: the revocation of its previous credential fails.
    const start = credentials().current.generation as number;
    await eventually(succeededAt(start + 1), 'the next rotation rolled out', 20_000);
    vault.failRevocations = true;
    const pending = await eventually(() => credentials()?.revoking?.[0], 'a pending revocation', 20_000);
    expect(pending.attempts).toBe(1);
    expect(pending.generation).toBeLessThan(credentials().current.generation);
    expect(pending.reason).toMatch(/revocation failed/);
    vault.failRevocations = false;
    await eventually(() => (credentials()?.revoking ?? []).length === 0, 'revocation retried', 20_000);
    expect(vault.leases.find((l) => l.id === pending.leaseId)!.revoked).toBe(true);
    expect(failures).toEqual([]);
  }, 60_000);
});

const BIN = fileURLToPath(new URL('../../../bin/strongroom', import.meta.url));
function cli(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [BIN, ...args, '--kubeconfig', kubeconfigPath],
      { env: { ...process.env, NO_COLOR: '1' } },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
    ),
  );
}

/** The lease id the operator recorded for a generation (from the events it wrote). */
function seenLease(generation: number): string | undefined {
  const events = api.list('events', NS) as Loose[];
  const issued = events.find(
    (e) => e.reason === 'CredentialIssued' && e.message.startsWith(`issued generation ${generation} `),
  );
  return /lease (\S+) until/.exec(issued?.message ?? '')?.[1];
}
