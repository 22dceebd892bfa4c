/**
 * End to end, static roles: a two-account PostgreSQL static role in a real Strongroom server rotates every 6 s; the
 * operator reads `database/static-creds/<name>` with hold=true (its lease pins the account it hands out), reads again
 * once the role rotated, rolls the other account out, and only then revokes the hold, so the store may retire (re-key)
 * the previous account. A consumer logging in every ~50 ms with whatever the Secret holds, and every ready pod's
 * generation, must never fail across three rotations; each retired account's old password stops working after the
 * rollout that replaced it.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCrds } from '../../../src/kubernetes/api/crds.js';
import { startOperator, type Operator } from '../../../src/kubernetes/controller/operator.js';
import { A_VERSION } from '../../../src/kubernetes/controller/target-secret.js';
import { versionAnnotation } from '../../../src/kubernetes/rollout/hash.js';
import { eventually } from '../../support/eventually.js';
import { createKubeApiServer, writeKubeconfig, type KubeApiServer } from '../../support/kube-api/index.js';
import { pgAdminQuery, pgCanLogin } from '../../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../support/postgres.js';
import { startServer, type StartedServer } from '../../support/server-process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const tag = randomBytes(3).toString('hex');
const rootUser = `sr_e2s_root_${tag}`;
const blue = `sr_e2s_${tag}_blue`;
const green = `sr_e2s_${tag}_green`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const NS = 'ledger';
const SECRET = 'pg-static';

let api: KubeApiServer;
let store: StartedServer;
let operator: Operator;
let stopConsumer = false;
let consumer: Promise<void> | undefined;
const attempts: { version: string | undefined; ok: boolean }[] = [];
/** The account and password each generation (gen-N) was seen with in the Secret. */
const users = new Map<string, string>();
const passwords = new Map<string, string>();

const decode = (v: string | undefined) => (v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8'));
const es = () => api.get('externalsecrets', NS, 'ledger-db') as Loose;

async function vault(method: string, path: string, body?: unknown): Promise<Loose> {
  const res = await fetch(`${store.url}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': store.rootToken, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** A real login, and the password still valid by the role's VALID UNTIL (trust auth would not check either). */
async function login(user: string, password: string): Promise<boolean> {
  if (!(await pgCanLogin(user, password))) return false;
  const rows = await pgAdminQuery<{ valid: boolean }>(
    'select coalesce(rolvaliduntil > now(), true) as valid from pg_roles where rolname = $1',
    [user],
  );
  return rows[0]?.valid === true;
}

async function consume(): Promise<void> {
  while (!stopConsumer) {
    const secret = api.get('secrets', NS, SECRET) as Loose;
    if (secret?.data?.username) {
      const user = decode(secret.data.username);
      const version = secret.metadata.annotations?.[A_VERSION];
      if (version) users.set(version, user);
      if (version) passwords.set(version, decode(secret.data.password));
      attempts.push({ version, ok: await login(user, decode(secret.data.password)) });
    }
    await checkPods();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Pods keep the credential they started with (env): every ready pod's generation (its pod template's rollout
 * annotation) must still have a live database user. This is what revoking only after the rollout guarantees.
 */
const podFailures: string[] = [];
async function checkPods(): Promise<void> {
  const running = (api.list('pods', NS) as Loose[]).filter((p) =>
    p.status?.conditions?.some((c: Loose) => c.type === 'Ready' && c.status === 'True'),
  );
  const wanted = new Map<string, string>();
  for (const pod of running) {
    const version = pod.metadata.annotations?.[versionAnnotation(SECRET)];
    const user = version ? users.get(version) : undefined;
    if (user) wanted.set(`${user}\0${passwords.get(version!)}`, `pod ${pod.metadata.name} (${version})`);
  }
  for (const [pair, who] of wanted) {
    const [user, password] = pair.split('\0') as [string, string];
    if (!(await login(user, password))) podFailures.push(`${who}: its password no longer works`);
  }
}

describe.skipIf(postgresSkipReason !== undefined)('two-account static credentials through the cluster', () => {
  beforeAll(async () => {
    await pgAdminQuery(`CREATE ROLE "${rootUser}" WITH LOGIN SUPERUSER PASSWORD '${rootPassword}'`);
    for (const user of [blue, green]) await pgAdminQuery(`CREATE ROLE "${user}" WITH LOGIN PASSWORD 'Dba-${tag}'`);
    store = await startServer();
    await vault('POST', 'sys/mounts/database', { type: 'database' });
    const pg = new URL(postgresAdminUrl!);
    await vault('POST', 'database/config/pg', {
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@${pg.host}/postgres`,
      username: rootUser,
      password: rootPassword,
      allowed_roles: 'pair',
    });
    await vault('POST', 'database/static-roles/pair', {
      db_name: 'pg',
      username: blue,
      alternate_username: green,
      rotation_period: 6,
      grace_period: 0,
    });

    api = await createKubeApiServer({ tickMs: 10, progressDeadlineMs: 2000 });
    for (const crd of allCrds()) api.create('customresourcedefinitions', crd as Loose);
    const kc = new KubeConfig();
    kc.loadFromFile(await writeKubeconfig(api.url));
    operator = await startOperator({
      kubeConfig: kc,
      operatorNamespace: 'default',
      rollouts: { pollMs: 40 },
      log: () => undefined,
      readCacheTtlMs: 0,
    });
    api.create('namespaces', { metadata: { name: NS } });
    api.create('secrets', {
      metadata: { name: 'strongroom-token', namespace: NS },
      stringData: { token: store.rootToken },
    } as Loose);
    api.create('secretstores', {
      apiVersion: 'strongroom.io/v1',
      kind: 'SecretStore',
      metadata: { name: 'strongroom', namespace: NS },
      spec: {
        provider: {
          vault: { server: store.url, auth: { tokenSecretRef: { name: 'strongroom-token', key: 'token' } } },
        },
      },
    });
    api.create('vaultdynamicsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'VaultDynamicSecret',
      metadata: { name: 'pair', namespace: NS },
      spec: { provider: { name: 'strongroom' }, path: 'database/static-creds/pair', revokeGracePeriod: '300ms' },
    });
    api.create('deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ledger', namespace: NS, labels: { app: 'ledger' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'ledger' } },
        template: {
          metadata: { labels: { app: 'ledger' } },
          spec: { containers: [{ name: 'app', image: 'ledger:1', envFrom: [{ secretRef: { name: SECRET } }] }] },
        },
      },
    });
  }, 90_000);

  afterAll(async () => {
    stopConsumer = true;
    await consumer;
    await operator?.shutdown();
    await store?.stop();
    await api?.close();
    for (const user of [blue, green]) await pgAdminQuery(`DROP ROLE IF EXISTS "${user}"`).catch(() => undefined);
    await pgAdminQuery(`DROP ROLE IF EXISTS "${rootUser}"`).catch(() => undefined);
  });

  it('zero failed logins across three rotations of the static role; each retired password stops working after its rollout', async () => {
    api.create('externalsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'ledger-db', namespace: NS },
      spec: {
        secretStoreRef: { name: 'strongroom', kind: 'SecretStore' },
        refreshInterval: '1h',
        target: { name: SECRET },
        // A static role fills ordinary data entries: one field of the held credential each.
        data: ['username', 'password'].map((field) => ({
          secretKey: field,
          remoteRef: { key: field },
          sourceRef: { generatorRef: { apiVersion: 'strongroom.io/v1', kind: 'VaultDynamicSecret', name: 'pair' } },
        })),
        rollout: { strategy: 'Restart', healthTimeout: '30s' },
      },
    });
    const rolledOut = (generation: number) => () => {
      const r = es()?.status?.rollout;
      return r?.phase === 'Succeeded' && r.targetVersion === `gen-${generation}` ? r : undefined;
    };
    await eventually(rolledOut(1), 'generation 1 rolled out', 30_000);
    consumer = consume();
    for (const generation of [2, 3, 4]) {
      await eventually(rolledOut(generation), `generation ${generation} rolled out`, 30_000);
      const oldUser = users.get(`gen-${generation - 1}`);
      const oldPassword = passwords.get(`gen-${generation - 1}`);
      expect(oldUser, `the consumer saw generation ${generation - 1}`).toBeDefined();
      expect(users.get(`gen-${generation}`)).not.toBe(oldUser);
      // The hold is revoked after the rollout: the store retires the account (a password nobody was given).
      await eventually(
        async () => !(await login(oldUser!, oldPassword!)),
        `account of generation ${generation - 1} retired`,
        10_000,
      );
    }
    stopConsumer = true;
    await consumer;
    const failed = attempts.filter((a) => !a.ok);
    expect(failed).toEqual([]);
    expect(podFailures).toEqual([]);
    expect(attempts.length).toBeGreaterThan(50);
    expect(new Set(attempts.map((a) => a.version)).size).toBeGreaterThanOrEqual(3);
    // The ExternalSecret's status records the hold lease, never the password.
    const status = es().status;
    expect(status.credentials.current.leases[0].leaseId).toMatch(/^database\/static-creds\/pair\//);
    const secret = api.get('secrets', NS, SECRET) as Loose;
    expect(JSON.stringify(status)).not.toContain(decode(secret.data.password));
  }, 120_000);
});
