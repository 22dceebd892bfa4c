import { PatchStrategy, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, failure, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.core.createNamespace({ body: { metadata: { name: 'objects' } } });
});
afterAll(() => h.api.close());

const ns = 'objects';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

describe('objects over the Kubernetes API', () => {
  it('creates, reads, updates and deletes with server-owned metadata and a global resourceVersion', async () => {
    const created = await h.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'crud' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    const read = await h.core.readNamespacedConfigMap({ namespace: ns, name: 'crud' });
    expect(read.data).toEqual({ a: '1' });
    read.data = { a: '2' };
    const updated = await h.core.replaceNamespacedConfigMap({ namespace: ns, name: 'crud', body: read });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(created.metadata!.resourceVersion));
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    const list = await h.core.listNamespacedConfigMap({ namespace: ns });
    expect(Number(list.metadata!.resourceVersion)).toBeGreaterThanOrEqual(Number(updated.metadata!.resourceVersion));
    await h.core.deleteNamespacedConfigMap({ namespace: ns, name: 'crud' });
    const gone = await failure(h.core.readNamespacedConfigMap({ namespace: ns, name: 'crud' }));
    expect(gone.code).toBe(404);
    expect(gone.status).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      code: 404,
      details: { name: 'crud', kind: 'configmaps' },
    });
  });

  it('answers 409 Conflict to an update carrying a stale resourceVersion, and AlreadyExists to a duplicate create', async () => {
    const first = await h.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'occ' }, stringData: { k: 'v1' } },
    });
    const stale = structuredClone(first);
    first.data = { k: Buffer.from('v2').toString('base64') };
    await h.core.replaceNamespacedSecret({ namespace: ns, name: 'occ', body: first });
    stale.data = { k: Buffer.from('v3').toString('base64') };
    const conflict = await failure(h.core.replaceNamespacedSecret({ namespace: ns, name: 'occ', body: stale }));
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
    expect(conflict.status.message).toContain('the object has been modified');
    const dup = await failure(h.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'occ' } } }));
    expect(dup.status).toMatchObject({ code: 409, reason: 'AlreadyExists' });
    const current = await h.core.readNamespacedSecret({ namespace: ns, name: 'occ' });
    expect(Buffer.from(current.data!.k!, 'base64').toString()).toBe('v2');
  });

  it('rejects invalid objects with 422 and field causes that never echo secret data', async () => {
    const bad = await failure(
      h.core.createNamespacedSecret({
        namespace: ns,
        body: { metadata: { name: 'Bad_Name' }, data: { token: 'not base64!!' } } as V1Secret,
      }),
    );
    expect(bad.code).toBe(422);
    expect(bad.status.reason).toBe('Invalid');
    const fields = bad.status.details.causes.map((c: { field: string }) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'data[token]']));
    expect(JSON.stringify(bad.status)).not.toContain('not base64');
  });

  it('refuses data changes to an immutable Secret', async () => {
    const s = await h.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'frozen' }, immutable: true, stringData: { a: 'b' } },
    });
    s.data = { a: Buffer.from('c').toString('base64') };
    const err = await failure(h.core.replaceNamespacedSecret({ namespace: ns, name: 'frozen', body: s }));
    expect(err.code).toBe(422);
  });

  it('applies merge, JSON and strategic merge patches', async () => {
    await h.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'patched', labels: { a: '1', b: '2' } }, data: { x: '1' } },
    });
    const merged = await h.core.patchNamespacedConfigMap(
      { namespace: ns, name: 'patched', body: { metadata: { labels: { b: null, c: '3' } }, data: { y: '2' } } },
      merge,
    );
    expect(merged.metadata?.labels).toEqual({ a: '1', c: '3' });
    expect(merged.data).toEqual({ x: '1', y: '2' });
    const patched = await h.core.patchNamespacedConfigMap(
      {
        namespace: ns,
        name: 'patched',
        body: [
          { op: 'replace', path: '/data/x', value: '9' },
          { op: 'remove', path: '/metadata/labels/a' },
        ],
      },
      jsonPatch,
    );
    expect(patched.data?.x).toBe('9');
    expect(patched.metadata?.labels).toEqual({ c: '3' });
    const failedTest = await failure(
      h.core.patchNamespacedConfigMap(
        { namespace: ns, name: 'patched', body: [{ op: 'test', path: '/data/x', value: 'nope' }] },
        jsonPatch,
      ),
    );
    expect(failedTest.code).toBe(422);

    await h.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'smp' },
        spec: {
          selector: { matchLabels: { app: 'smp' } },
          template: {
            metadata: { labels: { app: 'smp' } },
            spec: {
              containers: [
                { name: 'app', image: 'a:1' },
                { name: 'side', image: 's:1' },
              ],
            },
          },
        },
      },
    });
    const smp = await h.apps.patchNamespacedDeployment(
      {
        namespace: ns,
        name: 'smp',
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'a:2' }] } } } },
      },
      strategic,
    );
    expect(smp.spec?.template.spec?.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['app=a:2', 'side=s:1']);
    expect(smp.metadata?.generation).toBe(2);
  });

  it('patching with a stale resourceVersion in the patch conflicts; without one it applies', async () => {
    const cm = await h.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'rvpatch' }, data: { a: '1' } },
    });
    await h.core.patchNamespacedConfigMap({ namespace: ns, name: 'rvpatch', body: { data: { a: '2' } } }, merge);
    const err = await failure(
      h.core.patchNamespacedConfigMap(
        {
          namespace: ns,
          name: 'rvpatch',
          body: { metadata: { resourceVersion: cm.metadata!.resourceVersion }, data: { a: '3' } },
        },
        merge,
      ),
    );
    expect(err.code).toBe(409);
  });

  it('keeps status and spec apart: main writes ignore status, /status writes ignore everything else, generation tracks spec only', async () => {
    const body = {
      metadata: { name: 'statusy' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 's' } },
        template: { metadata: { labels: { app: 's' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
      status: { replicas: 42 },
    };
    const created = await h.apps.createNamespacedStatefulSet({ namespace: ns, body });
    expect(created.status?.replicas).not.toBe(42);
    expect(created.metadata?.generation).toBe(1);
    const labelled = await h.apps.patchNamespacedStatefulSet(
      { namespace: ns, name: 'statusy', body: { metadata: { labels: { x: 'y' } }, status: { replicas: 7 } } },
      merge,
    );
    expect(labelled.metadata?.generation).toBe(1);
    expect(labelled.status?.replicas).not.toBe(7);
    const viaStatus = await h.apps.patchNamespacedStatefulSetStatus(
      {
        namespace: ns,
        name: 'statusy',
        body: {
          spec: { replicas: 5 },
          metadata: { labels: { x: 'z' } },
          status: { replicas: 3, observedGeneration: 1 },
        },
      },
      merge,
    );
    expect(viaStatus.status?.replicas).toBe(3);
    expect(viaStatus.spec?.replicas).toBe(0);
    expect(viaStatus.metadata?.labels).toEqual({ x: 'y' });
    expect(viaStatus.metadata?.generation).toBe(1);
    const scaled = await h.apps.patchNamespacedStatefulSet(
      { namespace: ns, name: 'statusy', body: { spec: { replicas: 0, minReadySeconds: 1 } } },
      merge,
    );
    expect(scaled.metadata?.generation).toBe(2);
  });

  it('holds an object with finalizers until they are removed, with deletionTimestamp set', async () => {
    await h.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'held', finalizers: ['strongroom.io/cleanup'] } },
    });
    await h.core.deleteNamespacedConfigMap({ namespace: ns, name: 'held' });
    const terminating = await h.core.readNamespacedConfigMap({ namespace: ns, name: 'held' });
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    const addMore = await failure(
      h.core.patchNamespacedConfigMap(
        { namespace: ns, name: 'held', body: { metadata: { finalizers: ['strongroom.io/cleanup', 'other/x'] } } },
        merge,
      ),
    );
    expect(addMore.code).toBe(422);
    await h.core.patchNamespacedConfigMap(
      { namespace: ns, name: 'held', body: { metadata: { finalizers: null } } },
      merge,
    );
    expect((await failure(h.core.readNamespacedConfigMap({ namespace: ns, name: 'held' }))).code).toBe(404);
  });

  it('garbage-collects dependents of a deleted owner, but keeps those with another live owner', async () => {
    const owner = await h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
    const other = await h.core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'other-owner' } },
    });
    const ref = (o: typeof owner) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: o.metadata!.name!,
      uid: o.metadata!.uid!,
    });
    await h.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'dependent', ownerReferences: [ref(owner)] } },
    });
    await h.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'shared', ownerReferences: [ref(owner), ref(other)] } },
    });
    await h.core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner' });
    await eventually(
      async () => (await failure(h.core.readNamespacedSecret({ namespace: ns, name: 'dependent' }))).code === 404,
      'dependent to be collected',
    );
    const shared = await h.core.readNamespacedSecret({ namespace: ns, name: 'shared' });
    expect(shared.metadata?.ownerReferences?.map((r) => r.name)).toEqual(['other-owner']);
  });

  it('filters lists by label and field selectors and pages them with limit/continue', async () => {
    await h.core.createNamespace({ body: { metadata: { name: 'listing' } } });
    const make = (name: string, labels: Record<string, string>, type = 'Opaque') =>
      h.core.createNamespacedSecret({ namespace: 'listing', body: { metadata: { name, labels }, type } });
    await make('s1', { tier: 'web', env: 'prod' });
    await make('s2', { tier: 'db', env: 'prod' }, 'kubernetes.io/basic-auth');
    await make('s3', { tier: 'web' });
    await make('s4', { tier: 'cache', env: 'dev' });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await h.core.listNamespacedSecret({ namespace: 'listing', labelSelector, fieldSelector })).items
        .map((s) => s.metadata!.name)
        .sort();
    expect(await names('tier=web')).toEqual(['s1', 's3']);
    expect(await names('tier!=web')).toEqual(expect.arrayContaining(['s2', 's4']));
    expect(await names('tier in (db,cache)')).toEqual(['s2', 's4']);
    expect(await names('tier notin (web),env')).toEqual(['s2', 's4']);
    expect(await names('!env')).toEqual(expect.arrayContaining(['s3']));
    expect(await names('env,!env')).toEqual([]);
    expect(await names(undefined, 'type=kubernetes.io/basic-auth')).toEqual(['s2']);
    expect(await names(undefined, 'metadata.name=s4')).toEqual(['s4']);
    const bad = await failure(h.core.listNamespacedSecret({ namespace: 'listing', fieldSelector: 'data.password=x' }));
    expect(bad.code).toBe(400);

    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await h.core.listNamespacedSecret({
        namespace: 'listing',
        limit: 2,
        _continue: token,
        labelSelector: 'tier',
      });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((s) => s.metadata!.name!));
      token = page.metadata?._continue;
    } while (token);
    expect(seen).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('deleting a namespace removes everything in it', async () => {
    await h.core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await h.core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'c' } } });
    await h.core.deleteNamespace({ name: 'doomed' });
    await eventually(
      async () => (await failure(h.core.readNamespace({ name: 'doomed' }))).code === 404,
      'namespace to go',
    );
    expect(h.api.list('configmaps', 'doomed')).toEqual([]);
    const recreate = await failure(
      h.core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'c' } } }),
    );
    expect(recreate.code).toBe(404);
  });
});
