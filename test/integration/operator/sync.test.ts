import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decode,
  eventsFor,
  eventually,
  externalSecret,
  metric,
  ready,
  startEnv,
  type Env,
  type Loose,
  type OperatorProcess,
} from './harness.js';

let env: Env;
let op: OperatorProcess;
const NS = 'app';
const PASSWORD = 'pw-correct-horse-battery-staple';

beforeAll(async () => {
  env = await startEnv();
  await env.namespaceWithStore(NS);
  await env.put('app/db', { username: 'app', password: PASSWORD, port: 5432 });
  await env.put('app/registry', { host: 'ghcr.io', auth: 'robot:tok-123' });
  op = await env.startOperator();
}, 60_000);
afterAll(() => env?.close());

describe('operator: sync', () => {
  it('marks the SecretStore Ready once it is reachable and authenticated', async () => {
    const store = await eventually(
      () =>
        ready(env.api.get('secretstores.strongroom.io', NS, 'strongroom'))?.status === 'True' &&
        env.api.get('secretstores.strongroom.io', NS, 'strongroom'),
      'store Ready',
    );
    expect(ready(store)).toMatchObject({ status: 'True', reason: 'Valid' });
  });

  it('creates the Secret with the right data, source annotations, owner and status', async () => {
    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret(NS, 'db', {
        refreshInterval: '1s',
        data: [
          { secretKey: 'password', remoteRef: { key: 'app/db', property: 'password' } },
          { secretKey: 'user', remoteRef: { key: 'app/db', property: 'username' } },
        ],
        dataFrom: [{ extract: { key: 'app/db' }, rewrite: [{ regexp: { source: '^(.*)$', target: 'db_$1' } }] }],
      }),
    );
    const secret = await eventually(() => env.api.get('secrets', NS, 'db'), 'target Secret');
    expect(decode(secret)).toEqual({
      password: PASSWORD,
      user: 'app',
      db_username: 'app',
      db_password: PASSWORD,
      db_port: '5432',
    });
    const meta = secret.metadata as Loose;
    expect(meta.labels['strongroom.io/managed']).toBe('true');
    expect(meta.annotations['strongroom.io/source-store']).toBe('SecretStore/strongroom');
    expect(meta.annotations['strongroom.io/source-keys']).toBe('app/db');
    expect(meta.annotations['strongroom.io/source-version']).toBe('1');
    expect(meta.annotations['strongroom.io/data-hash']).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(meta.annotations)).not.toContain(PASSWORD);
    const es = env.api.get('externalsecrets.strongroom.io', NS, 'db')!;
    expect(meta.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ExternalSecret',
        name: 'db',
        uid: (es.metadata as Loose).uid,
        controller: true,
      }),
    ]);

    const synced = await eventually(
      () =>
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'db'))?.status === 'True' &&
        env.api.get('externalsecrets.strongroom.io', NS, 'db'),
      'ES Ready',
    );
    const status = synced.status as Loose;
    expect(ready(synced)).toMatchObject({ reason: 'SecretSynced' });
    expect(status.observedGeneration).toBe((synced.metadata as Loose).generation);
    expect(status.sync).toMatchObject({ remoteVersion: '1', dataHash: meta.annotations['strongroom.io/data-hash'] });
    expect(status.sync.targetResourceVersion).toBeDefined();
    expect(Date.parse(status.refreshTime)).not.toBeNaN();
    // The event follows the status write (status first, by design), so it may land a moment later.
    await eventually(() => eventsFor(env.api, NS, 'db').some((e) => e.reason === 'Created'), 'Created event');
  });

  it('carries a change in the store to the Secret within the refresh interval', async () => {
    await env.put('app/db', { username: 'app', password: 'rotated-pw-2', port: 5432 });
    const secret = await eventually(
      () => decode(env.api.get('secrets', NS, 'db')).password === 'rotated-pw-2' && env.api.get('secrets', NS, 'db'),
      'rotated value',
      5_000,
    );
    expect((secret.metadata as Loose).annotations['strongroom.io/source-version']).toBe('2');
    await eventually(
      () => (env.api.get('externalsecrets.strongroom.io', NS, 'db')!.status as Loose)?.sync?.remoteVersion === '2',
      'status shows version 2',
    );
    await eventually(() => eventsFor(env.api, NS, 'db').some((e) => e.reason === 'Updated'), 'Updated event');
  });

  it('puts back a managed Secret that someone deleted', async () => {
    env.api.delete('secrets', NS, 'db');
    const back = await eventually(() => env.api.get('secrets', NS, 'db'), 'recreated Secret');
    expect(decode(back).password).toBe('rotated-pw-2');
  });

  it('renders templates: a dockerconfigjson Secret with labels and annotations', async () => {
    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret(NS, 'pull', {
        refreshInterval: '0',
        dataFrom: [{ extract: { key: 'app/registry' } }],
        target: {
          name: 'pull-secret',
          template: {
            type: 'kubernetes.io/dockerconfigjson',
            metadata: {
              labels: { team: '{{ .host | replace "." "-" }}' },
              annotations: { 'example.com/registry': '{{ .host }}' },
            },
            data: { '.dockerconfigjson': '{"auths":{"{{ .host }}":{"auth":"{{ .auth | b64enc }}"}}}' },
          },
        },
      }),
    );
    const secret = await eventually(() => env.api.get('secrets', NS, 'pull-secret'), 'pull secret');
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    expect(JSON.parse(decode(secret)['.dockerconfigjson']!)).toEqual({
      auths: { 'ghcr.io': { auth: Buffer.from('robot:tok-123').toString('base64') } },
    });
    expect((secret.metadata as Loose).labels.team).toBe('ghcr-io');
    expect((secret.metadata as Loose).annotations['example.com/registry']).toBe('ghcr.io');
  });

  it('rejects an invalid spec with a clear InvalidSpec condition and a Warning event', async () => {
    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret(NS, 'bad', {
        data: [{ secretKey: 'x', remoteRef: { key: 'app/db' } }],
        target: { creationPolicy: 'Merge', deletionPolicy: 'Delete' },
      }),
    );
    const cond = await eventually(() => ready(env.api.get('externalsecrets.strongroom.io', NS, 'bad')), 'InvalidSpec');
    expect(cond).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(cond.message).toMatch(/deletionPolicy Delete needs creationPolicy Owner or Orphan/);
    await eventually(
      () => eventsFor(env.api, NS, 'bad').some((e) => e.type === 'Warning' && e.reason === 'InvalidSpec'),
      'warning event',
    );

    env.api.create(
      'externalsecrets.strongroom.io',
      externalSecret(NS, 'bad-template', {
        data: [{ secretKey: 'x', remoteRef: { key: 'app/db', property: 'username' } }],
        target: { template: { data: { y: '{{ exec "id" }}' } } },
      }),
    );
    const t = await eventually(
      () => ready(env.api.get('externalsecrets.strongroom.io', NS, 'bad-template')),
      'template InvalidSpec',
    );
    expect(t).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(t.message).toMatch(/unknown function "exec"/);
    expect(env.api.get('secrets', NS, 'bad-template')).toBeUndefined();
  });

  it('never writes secret values into events, statuses or its own output', async () => {
    const everything =
      JSON.stringify([env.api.list('events', NS), env.api.list('externalsecrets.strongroom.io', NS)]) + op.output();
    for (const value of [PASSWORD, 'rotated-pw-2', 'robot:tok-123', env.server.rootToken])
      expect(everything).not.toContain(value);
  });

  it('exposes metrics, healthz and readyz', async () => {
    expect((await fetch(`${op.metricsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${op.metricsUrl}/readyz`)).status).toBe(200);
    expect(await metric(op, 'strongroom_operator_syncs_total', { kind: 'ExternalSecret' })).toBeGreaterThan(0);
    expect(await metric(op, 'strongroom_operator_provider_calls_total', { provider: 'vault' })).toBeGreaterThan(0);
    expect(
      await metric(op, 'strongroom_operator_reconcile_duration_seconds_count', { kind: 'ExternalSecret' }),
    ).toBeGreaterThan(0);
  });
});
