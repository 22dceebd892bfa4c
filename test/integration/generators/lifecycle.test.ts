/**
 * The lease lifecycle of generated credentials when things go wrong, on real components: a real Strongroom server
 * process issues PostgreSQL users (database engine, 30 s leases that cannot be extended: max_ttl = default_ttl), the operator (in process, real
 * Vault provider) keeps a Secret from a VaultDynamicSecret and rolls each credential out to a Deployment in the
 * Kubernetes API double. The engine reaches PostgreSQL through a TCP proxy the test can stop.
 *
 * - A rollout the API double's Deployment controller fails is rolled back to the previous credential, which still logs
 *   in (its revocation waits for a successful rollout); the failed generation's user is dropped.
 * - A revocation that fails while the database is unreachable is recorded in the ExternalSecret's status and retried
 *   until it succeeds once the database is back; the user is then dropped.
 *
 * A consumer logs in every ~50 ms with whatever the Secret holds, and checks that every ready pod's database user is
 * alive: neither may ever fail. Three successful rotations: test/integration/rollout/dynamic-credentials.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A_VERSION } from '../../../src/kubernetes/controller/target-secret.js';
import { eventually } from '../../support/eventually.js';
import { pgDropRoles } from '../../support/pg-login.js';
import { postgresAdminUrl, postgresSkipReason } from '../../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import {
  decode,
  dynamicUsersAlive,
  login,
  roleExists,
  startConsumer,
  startCredentialsBed,
  type Consumer,
  type CredentialsBed,
} from '../rollout/pg-credentials.js';
import type { Loose } from '../rollout/support.js';

const tag = randomBytes(3).toString('hex');
const rootUser = `sr_lc_root_${tag}`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const NS = 'apps';
const APP = 'web';
const SECRET = 'db-creds';
const ES = 'db';

let bed: CredentialsBed;
let proxy: TcpProxy;
let consumer: Consumer | undefined;

const es = () => bed.api.get('externalsecrets', NS, ES) as Loose;
const credentials = () => es()?.status?.credentials;
const rollout = () => es()?.status?.rollout;
/** The credential current once its rollout succeeded (and nothing newer issued since), else undefined. */
const settled = () => {
  const c = credentials();
  const r = rollout();
  return r?.phase === 'Succeeded' && r.targetVersion === c?.current?.version ? c : undefined;
};
const lookup = (leaseId: string) =>
  bed.vault('PUT', 'sys/leases/lookup', { lease_id: leaseId }).then(
    () => 'alive',
    (err: Error) => (/invalid lease/.test(err.message) ? 'gone' : Promise.reject(err)),
  );

/** The lease id the operator recorded for a generation (from the event it wrote when it issued it). */
function issuedLease(generation: number): string | undefined {
  const issued = (bed.api.list('events', NS) as Loose[]).find(
    (e) => e.reason === 'CredentialIssued' && e.message.startsWith(`issued generation ${generation} `),
  );
  return /lease (\S+) until/.exec(issued?.message ?? '')?.[1];
}

const event = (reason: string, leaseId: string) =>
  (bed.api.list('events', NS) as Loose[]).some((e) => e.reason === reason && e.message.includes(leaseId));

function expectNoFailedLogins() {
  expect(consumer!.attempts.filter((a) => !a.ok)).toEqual([]);
  expect(consumer!.podFailures).toEqual([]);
}

describe.skipIf(postgresSkipReason !== undefined)('generated credentials: failed rollouts and revocations', () => {
  beforeAll(async () => {
    const pg = new URL(postgresAdminUrl!);
    proxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
    bed = await startCredentialsBed({
      rootUser,
      rootPassword,
      config: { allowed_roles: 'app', username_template: `{{ printf "v-lc-${tag}-%s" (random 10) }}` },
      engineAddress: `127.0.0.1:${proxy.port}`,
      namespace: NS,
      app: APP,
      secret: SECRET,
    });
    await bed.vault('POST', 'database/roles/app', {
      db_name: 'pg',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT CONNECT ON DATABASE postgres TO "{{name}}";`,
      default_ttl: '30s',
      max_ttl: '30s',
    });
    bed.api.create('vaultdynamicsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'VaultDynamicSecret',
      metadata: { name: 'app-db', namespace: NS },
      // A new credential every ~10 s, 20 s before the lease ends: room for a rollout to fail and be rolled back, and
      // for a failed revocation to be retried, while the credentials involved are still alive. The grace period
      // leaves the test time to take the database away between a rollout's success and the revocation it causes.
      spec: {
        provider: { name: 'strongroom' },
        path: 'database/creds/app',
        renewBefore: '20s',
        revokeGracePeriod: '2s',
      },
    });
    bed.api.create('externalsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: ES, namespace: NS },
      spec: {
        secretStoreRef: { name: 'strongroom', kind: 'SecretStore' },
        refreshInterval: '1h',
        target: { name: SECRET },
        dataFrom: [
          {
            sourceRef: { generatorRef: { apiVersion: 'strongroom.io/v1', kind: 'VaultDynamicSecret', name: 'app-db' } },
          },
        ],
        rollout: { strategy: 'Restart', healthTimeout: '30s' },
      },
    });
    await eventually(() => bed.rolledOut(ES, 1), 'generation 1 rolled out', 60_000);
    consumer = startConsumer(bed, NS, SECRET, dynamicUsersAlive);
  }, 120_000);

  afterAll(async () => {
    await consumer?.stop();
    await bed?.close();
    await proxy?.close();
    await pgDropRoles({ like: `v-lc-${tag}-%`, roles: [rootUser] });
  });

  it('a failed rollout is rolled back to the previous credential, which still logs in; the failed lease is revoked', async () => {
    // Between rotations (the current generation rolled out, the next not issued yet), the next rollout will fail.
    const before = (await eventually(settled, 'a generation rolled out', 30_000)).current.generation as number;
    bed.api.setRolloutOutcome({ namespace: NS, kind: 'Deployment', name: APP }, 'fail-next');
    const rolled = await eventually(
      () =>
        rollout()?.phase === 'RolledBack' && credentials()?.current?.generation === before ? rollout() : undefined,
      'rolled back and restored',
      40_000,
    );
    expect(rolled).toMatchObject({ targetVersion: `gen-${before + 1}`, previousVersion: `gen-${before}` });
    // The Secret holds the previous credential again.
    const previous = consumer!.seen.get(`gen-${before}`)!;
    const secret = bed.api.get('secrets', NS, SECRET) as Loose;
    expect(secret.metadata.annotations[A_VERSION]).toBe(`gen-${before}`);
    expect(decode(secret.data.username)).toBe(previous.user);

    // The failed generation's lease is revoked: gone from the store, its user dropped.
    const failedLease = issuedLease(before + 1);
    expect(failedLease, `the CredentialIssued event of generation ${before + 1}`).toMatch(/^database\/creds\/app\//);
    await eventually(async () => (await lookup(failedLease!)) === 'gone', 'the failed lease revoked', 10_000);
    const failedUser = consumer!.seen.get(`gen-${before + 1}`)?.user;
    expect(failedUser, `the consumer saw generation ${before + 1}`).toBeDefined();
    await eventually(async () => !(await roleExists(failedUser!)), 'the failed generation user dropped', 10_000);

    // The restored credential's lease was never revoked (that waits for a successful rollout): it still logs in.
    expect(credentials().current.leases[0].leaseId).toBe(issuedLease(before));
    expect(await lookup(issuedLease(before)!)).toBe('alive');
    expect(await login(previous.user, previous.password)).toBe(true);

    // The operator tries again later with a new credential, which rolls out; then the restored one is revoked too.
    await eventually(() => bed.rolledOut(ES, before + 2), 'a later credential rolled out', 40_000);
    await eventually(async () => !(await roleExists(previous.user)), 'the restored generation user dropped', 15_000);
    expectNoFailedLogins();
  }, 120_000);

  it('a revocation that fails while the database is down is recorded and retried until it succeeds', async () => {
    const start = (await eventually(settled, 'a generation rolled out', 30_000)).current.generation as number;
    // The next credential issued (the engine needs the database for that), then the database goes away before the
    // rollout succeeds and its grace period passes: the revocation of generation `start` fails.
    await eventually(() => credentials()?.current?.generation === start + 1, 'the next credential issued', 30_000);
    await proxy.stop();
    const oldUser = consumer!.seen.get(`gen-${start}`)?.user;
    expect(oldUser, `the consumer saw generation ${start}`).toBeDefined();
    const pending = await eventually(() => credentials()?.revoking?.[0], 'a pending revocation', 30_000);
    expect(pending).toMatchObject({ generation: start, attempts: 1, leaseId: issuedLease(start) });
    expect(pending.reason).toMatch(/revocation failed/);
    await eventually(() => event('LeaseRevocationFailed', pending.leaseId), 'a LeaseRevocationFailed event', 10_000);
    // Retried while the database is still away, and not forgotten: the lease and the user are still there.
    await eventually(() => credentials()?.revoking?.[0]?.attempts >= 2, 'a second attempt', 15_000);
    expect(await roleExists(oldUser!)).toBe(true);
    expect(await lookup(pending.leaseId)).toBe('alive');

    await proxy.start();
    await eventually(() => (credentials()?.revoking ?? []).length === 0, 'the revocation retried', 30_000);
    // By the operator's retry (not the lease running out): it recorded the revocation as done.
    await eventually(() => event('LeaseRevoked', pending.leaseId), 'a LeaseRevoked event', 10_000);
    expect(await lookup(pending.leaseId)).toBe('gone');
    expect(await roleExists(oldUser!)).toBe(false);
    expectNoFailedLogins();
  }, 120_000);
});
