import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../api/external-secret.js';
import { handlersFor, watchesFor, WATCHES, type Resource, type Watch, type WatchLookups } from './watches.js';

const obj = (
  name: string,
  namespace?: string,
  extra: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
) =>
  ({ metadata: { name, ...(namespace ? { namespace } : {}), generation: 1, ...meta }, ...extra }) as KubernetesObject;

const es = (name: string, namespace: string, ref: { name: string; kind?: string }) =>
  obj(name, namespace, { spec: { secretStoreRef: ref } }) as unknown as ExternalSecret;

const lookups: WatchLookups = {
  externalSecrets: (namespace) =>
    [
      es('uses-a', 'a', { name: 'store' }),
      es('uses-a-cluster', 'a', { name: 'store', kind: 'ClusterSecretStore' }),
      es('uses-b', 'b', { name: 'store', kind: 'SecretStore' }),
      es('other', 'a', { name: 'other' }),
    ].filter((e) => !namespace || e.metadata.namespace === namespace),
  clusterExternalSecrets: () => [obj('ces-1'), obj('ces-2')],
};

const watch = (resource: Resource) => WATCHES.find((w) => w.resource === resource)!;

/** The keys the informer handlers of `w` enqueue for one event. */
function keys(w: Watch, event: 'add' | 'update' | 'delete', o: KubernetesObject, old?: KubernetesObject): string[] {
  const out: string[] = [];
  handlersFor(w, lookups, (k) => out.push(k))[event]?.(o, old);
  return out;
}

describe('declared watches', () => {
  it('ExternalSecret: itself on add and on spec or metadata changes, not on status writes or delete', () => {
    const w = watch('externalsecrets');
    const o = obj('db', 'a');
    expect(keys(w, 'add', o)).toEqual(['ExternalSecret/a/db']);
    expect(keys(w, 'update', obj('db', 'a', { status: { x: 1 } }), o)).toEqual([]);
    expect(keys(w, 'update', obj('db', 'a', {}, { generation: 2 }), o)).toEqual(['ExternalSecret/a/db']);
    expect(keys(w, 'update', obj('db', 'a', {}, { labels: { l: '1' } }), o)).toEqual(['ExternalSecret/a/db']);
    expect(keys(w, 'update', obj('db', 'a', {}, { annotations: { a: '1' } }), o)).toEqual(['ExternalSecret/a/db']);
    expect(keys(w, 'update', o)).toEqual(['ExternalSecret/a/db']); // no previous copy seen: treat as changed
    expect(keys(w, 'delete', o)).toEqual([]);
  });

  it('ExternalSecret with generated credentials: also when its rollout changes phase, not on other status writes', () => {
    const w = watch('externalsecrets');
    const status = (phase: string, extra = {}) => ({
      status: { credentials: { lastGeneration: 2 }, rollout: { phase }, ...extra },
    });
    const progressing = obj('db', 'a', status('Progressing'));
    expect(keys(w, 'update', obj('db', 'a', status('Succeeded')), progressing)).toEqual(['ExternalSecret/a/db']);
    expect(keys(w, 'update', obj('db', 'a', status('Progressing', { refreshTime: 'x' })), progressing)).toEqual([]);
    // Without generated credentials a rollout's progress is the rollout controller's business only.
    const plain = (phase: string) => obj('db', 'a', { status: { rollout: { phase } } });
    expect(keys(w, 'update', plain('Succeeded'), plain('Progressing'))).toEqual([]);
  });

  it('SecretStore: itself, and on a change the ExternalSecrets of its namespace that refer to it', () => {
    const w = watch('secretstores');
    const s = obj('store', 'a');
    expect(keys(w, 'add', s)).toEqual(['SecretStore/a/store']);
    expect(keys(w, 'update', obj('store', 'a', {}, { generation: 2 }), s)).toEqual([
      'SecretStore/a/store',
      'ExternalSecret/a/uses-a',
    ]);
    expect(keys(w, 'update', obj('store', 'a', { status: {} }), s)).toEqual([]);
    expect(keys(w, 'delete', s)).toEqual([]);
  });

  it('ClusterSecretStore: itself, and on a change the ExternalSecrets of every namespace that refer to it', () => {
    const w = watch('clustersecretstores');
    const s = obj('store');
    expect(keys(w, 'add', s)).toEqual(['ClusterSecretStore//store']);
    expect(keys(w, 'update', obj('store', undefined, {}, { generation: 2 }), s)).toEqual([
      'ClusterSecretStore//store',
      'ExternalSecret/a/uses-a-cluster',
    ]);
  });

  it('ClusterExternalSecret: itself on add and on changes', () => {
    const w = watch('clusterexternalsecrets');
    const c = obj('ces-1');
    expect(keys(w, 'add', c)).toEqual(['ClusterExternalSecret//ces-1']);
    expect(keys(w, 'update', obj('ces-1', undefined, { status: {} }), c)).toEqual([]);
    expect(keys(w, 'update', obj('ces-1', undefined, {}, { generation: 2 }), c)).toEqual([
      'ClusterExternalSecret//ces-1',
    ]);
  });

  it('Namespace: every ClusterExternalSecret when one appears, goes, is relabelled or changes phase', () => {
    const w = watch('namespaces');
    const all = ['ClusterExternalSecret//ces-1', 'ClusterExternalSecret//ces-2'];
    const ns = obj('team', undefined, { status: { phase: 'Active' } }, { labels: { env: 'dev' } });
    expect(keys(w, 'add', ns)).toEqual(all);
    expect(keys(w, 'delete', ns)).toEqual(all);
    expect(
      keys(w, 'update', obj('team', undefined, { status: { phase: 'Active' } }, { labels: { env: 'prod' } }), ns),
    ).toEqual(all);
    expect(
      keys(w, 'update', obj('team', undefined, { status: { phase: 'Terminating' } }, { labels: { env: 'dev' } }), ns),
    ).toEqual(all);
    expect(
      keys(
        w,
        'update',
        obj('team', undefined, { status: { phase: 'Active' } }, { labels: { env: 'dev' }, annotations: { a: '1' } }),
        ns,
      ),
    ).toEqual([]);
  });

  it('managed Secret: its owning ExternalSecret when its data changes or it is deleted', () => {
    const w = watch('secrets');
    expect(w.labelSelector).toBe('strongroom.io/managed=true');
    const s = obj('target', 'a', { data: { k: 'dg==' } }, { annotations: { 'strongroom.io/external-secret': 'db' } });
    expect(keys(w, 'add', s)).toEqual([]);
    expect(
      keys(
        w,
        'update',
        obj('target', 'a', { data: { k: 'dw==' } }, { annotations: { 'strongroom.io/external-secret': 'db' } }),
        s,
      ),
    ).toEqual(['ExternalSecret/a/db']);
    expect(
      keys(
        w,
        'update',
        obj('target', 'a', { data: { k: 'dg==' } }, { annotations: { 'strongroom.io/external-secret': 'db', x: 'y' } }),
        s,
      ),
    ).toEqual([]);
    expect(keys(w, 'delete', s)).toEqual(['ExternalSecret/a/db']);
    expect(keys(w, 'delete', obj('target', 'a', { data: {} }))).toEqual([]);
  });

  it('one namespace: no cluster-scoped watches; the primary kinds start last', () => {
    expect(watchesFor('a').map((w) => w.resource)).toEqual(['externalsecrets', 'secretstores', 'secrets']);
    expect(watchesFor(undefined).map((w) => w.resource)).toEqual([
      'externalsecrets',
      'secretstores',
      'clustersecretstores',
      'clusterexternalsecrets',
      'namespaces',
      'secrets',
    ]);
    expect(WATCHES.filter((w) => w.primary).map((w) => w.resource)).toEqual([
      'externalsecrets',
      'clusterexternalsecrets',
    ]);
  });
});
