import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, eventually, externalSecret, ready, startEnv, type Env, type Loose } from './harness.js';

let env: Env;
const NS = 'pol';

beforeAll(async () => {
  env = await startEnv();
  await env.namespaceWithStore(NS);
  await env.startOperator();
}, 60_000);
afterAll(() => env?.close());

const es = (name: string, key: string, target: Record<string, unknown>) =>
  env.api.create(
    'externalsecrets.strongroom.io',
    externalSecret(NS, name, {
      refreshInterval: '500ms',
      data: [{ secretKey: 'value', remoteRef: { key, property: 'v' } }],
      target,
    }),
  );
const esReady = (name: string) =>
  eventually(() => ready(env.api.get('externalsecrets.strongroom.io', NS, name))?.status === 'True', `${name} Ready`);
const removeRemote = async (key: string) =>
  expect((await env.vault('DELETE', `secret/metadata/${key}`)).status).toBeLessThan(300);

describe('operator: creation policies', () => {
  it('Owner: the Secret is owned by the ExternalSecret and goes away with it', async () => {
    await env.put('p/owner', { v: 'one' });
    es('owner', 'p/owner', { creationPolicy: 'Owner' });
    const s = await eventually(() => env.api.get('secrets', NS, 'owner'), 'owned Secret');
    expect((s.metadata as Loose).ownerReferences[0]).toMatchObject({
      kind: 'ExternalSecret',
      name: 'owner',
      controller: true,
    });
    env.api.delete('externalsecrets.strongroom.io', NS, 'owner');
    await eventually(() => !env.api.get('secrets', NS, 'owner'), 'garbage-collected Secret');
  });

  it('Owner: refuses to take over a Secret that is not its own', async () => {
    env.api.create('secrets', {
      metadata: { name: 'foreign', namespace: NS },
      data: { keep: Buffer.from('mine').toString('base64') },
    });
    await env.put('p/foreign', { v: 'theirs' });
    es('foreign', 'p/foreign', { creationPolicy: 'Owner' });
    const cond = await eventually(
      () =>
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'foreign'))?.reason === 'SecretSyncedError' &&
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'foreign')),
      'refusal',
    );
    expect(cond!.message).toMatch(/not owned by this ExternalSecret/);
    expect(decode(env.api.get('secrets', NS, 'foreign'))).toEqual({ keep: 'mine' });
  });

  it('Orphan: the Secret has no owner and stays after the ExternalSecret is deleted', async () => {
    await env.put('p/orphan', { v: 'two' });
    es('orphan', 'p/orphan', { creationPolicy: 'Orphan' });
    const s = await eventually(() => env.api.get('secrets', NS, 'orphan'), 'orphan Secret');
    expect((s.metadata as Loose).ownerReferences ?? []).toEqual([]);
    await esReady('orphan');
    env.api.delete('externalsecrets.strongroom.io', NS, 'orphan');
    await new Promise((r) => setTimeout(r, 500));
    expect(decode(env.api.get('secrets', NS, 'orphan'))).toEqual({ value: 'two' });
  });

  it('Merge: waits for the Secret to exist, then merges its keys and keeps the others', async () => {
    await env.put('p/merge', { v: 'merged' });
    es('merge', 'p/merge', { creationPolicy: 'Merge', name: 'existing' });
    const waiting = await eventually(
      () => ready(env.api.get('externalsecrets.strongroom.io', NS, 'merge')),
      'merge waiting',
    );
    expect(waiting).toMatchObject({ status: 'False', reason: 'SecretSyncedError' });
    expect(env.api.get('secrets', NS, 'existing')).toBeUndefined();
    env.api.create('secrets', {
      metadata: { name: 'existing', namespace: NS },
      data: { other: Buffer.from('kept').toString('base64') },
    });
    const merged = await eventually(
      () => decode(env.api.get('secrets', NS, 'existing')).value === 'merged' && env.api.get('secrets', NS, 'existing'),
      'merged Secret',
    );
    expect(decode(merged)).toEqual({ other: 'kept', value: 'merged' });
    expect((merged.metadata as Loose).ownerReferences ?? []).toEqual([]);
  });

  it('None: fetches and reports, but writes no Secret', async () => {
    await env.put('p/none', { v: 'x' });
    es('none', 'p/none', { creationPolicy: 'None' });
    await esReady('none');
    expect(env.api.get('secrets', NS, 'none')).toBeUndefined();
  });
});

describe('operator: deletion policies (the remote secret is deleted)', () => {
  it('Retain keeps the Secret as it was and reports the error', async () => {
    await env.put('d/retain', { v: 'kept' });
    es('retain', 'd/retain', { deletionPolicy: 'Retain' });
    await esReady('retain');
    await removeRemote('d/retain');
    const cond = await eventually(
      () =>
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'retain'))?.status === 'False' &&
        ready(env.api.get('externalsecrets.strongroom.io', NS, 'retain')),
      'retain error',
    );
    expect(cond).toMatchObject({ reason: 'SecretSyncedError' });
    expect(cond!.message).toMatch(/not found.*deletionPolicy Retain/);
    expect(decode(env.api.get('secrets', NS, 'retain'))).toEqual({ value: 'kept' });
  });

  it('Delete removes the Secret', async () => {
    await env.put('d/delete', { v: 'gone' });
    es('delete', 'd/delete', { deletionPolicy: 'Delete' });
    await esReady('delete');
    await removeRemote('d/delete');
    await eventually(() => !env.api.get('secrets', NS, 'delete'), 'deleted Secret');
  });

  it('Merge removes only the keys this ExternalSecret wrote', async () => {
    env.api.create('secrets', {
      metadata: { name: 'shared', namespace: NS },
      data: { other: Buffer.from('stays').toString('base64') },
    });
    await env.put('d/merge', { v: 'leaves' });
    es('dmerge', 'd/merge', { creationPolicy: 'Merge', deletionPolicy: 'Merge', name: 'shared' });
    await eventually(() => decode(env.api.get('secrets', NS, 'shared')).value === 'leaves', 'merged key');
    await removeRemote('d/merge');
    await eventually(() => decode(env.api.get('secrets', NS, 'shared')).value === undefined, 'key removed');
    expect(decode(env.api.get('secrets', NS, 'shared'))).toEqual({ other: 'stays' });
  });
});
