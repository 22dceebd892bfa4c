/**
 * End to end, static roles: a two-account PostgreSQL static role in a real Strongroom server rotates every 6 s; the
 * operator reads `database/static-creds/<name>` with hold=true (its lease pins the account it hands out), reads again
 * once the role rotated, rolls the other account out, and only then revokes the hold, so the store may retire (re-key)
 * the previous account. A consumer logging in every ~50 ms with whatever the Secret holds, and every ready pod's
 * generation, must never fail across three rotations; each retired account's old password stops working after the
 * rollout that replaced it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/eventually.js';
import { pgAdminQuery, pgDropRoles } from '../../support/pg-login.js';
import { postgresSkipReason } from '../../support/postgres.js';
import {
  expectZeroFailures,
  login,
  startConsumer,
  startCredentialsBed,
  type Consumer,
  type CredentialsBed,
  type PodCredential,
} from './pg-credentials.js';

const tag = randomBytes(3).toString('hex');
const rootUser = `sr_e2s_root_${tag}`;
const blue = `sr_e2s_${tag}_blue`;
const green = `sr_e2s_${tag}_green`;
const rootPassword = `Root-${randomBytes(8).toString('hex')}`;
const NS = 'ledger';
const SECRET = 'pg-static';

let bed: CredentialsBed;
let consumer: Consumer | undefined;

/** Every pod's account must still log in with the password its generation was given. */
async function passwordsWork(pods: PodCredential[]): Promise<string[]> {
  const failures: string[] = [];
  for (const pod of pods)
    if (!(await login(pod.user, pod.password))) failures.push(`${pod.who}: its password no longer works`);
  return failures;
}

describe.skipIf(postgresSkipReason !== undefined)('two-account static credentials through the cluster', () => {
  beforeAll(async () => {
    for (const user of [blue, green]) await pgAdminQuery(`CREATE ROLE "${user}" WITH LOGIN PASSWORD 'Dba-${tag}'`);
    bed = await startCredentialsBed({
      rootUser,
      rootPassword,
      config: { allowed_roles: 'pair' },
      namespace: NS,
      app: 'ledger',
      secret: SECRET,
    });
    await bed.vault('POST', 'database/static-roles/pair', {
      db_name: 'pg',
      username: blue,
      alternate_username: green,
      rotation_period: 6,
      grace_period: 0,
    });
    bed.api.create('vaultdynamicsecrets', {
      apiVersion: 'strongroom.io/v1',
      kind: 'VaultDynamicSecret',
      metadata: { name: 'pair', namespace: NS },
      spec: { provider: { name: 'strongroom' }, path: 'database/static-creds/pair', revokeGracePeriod: '300ms' },
    });
  }, 90_000);

  afterAll(async () => {
    await consumer?.stop();
    await bed?.close();
    await pgDropRoles({ roles: [blue, green, rootUser] });
  });

  it('zero failed logins across three rotations of the static role; each retired password stops working after its rollout', async () => {
    const externalSecret = {
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
    };
    bed.api.create('externalsecrets', externalSecret);
    const rolledOut = (generation: number) => () => bed.rolledOut('ledger-db', generation);
    await eventually(rolledOut(1), 'generation 1 rolled out', 60_000);
    consumer = startConsumer(bed, NS, SECRET, passwordsWork);
    for (const generation of [2, 3, 4]) {
      await eventually(rolledOut(generation), `generation ${generation} rolled out`, 60_000);
      const old = consumer.seen.get(`gen-${generation - 1}`);
      expect(old?.user, `the consumer saw generation ${generation - 1}`).toBeDefined();
      expect(consumer.seen.get(`gen-${generation}`)?.user).not.toBe(old!.user);
      // The hold is revoked after the rollout: the store retires the account (a password nobody was given).
      await eventually(
        async () => !(await login(old!.user, old!.password)),
        `account of generation ${generation - 1} retired`,
        10_000,
      );
    }
    await consumer.stop();
    // The ExternalSecret's status records the hold lease, never the password.
    expectZeroFailures(bed, consumer, externalSecret, /^database\/static-creds\/pair\//);
  }, 300_000);
});
