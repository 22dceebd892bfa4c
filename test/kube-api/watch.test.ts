import { PatchStrategy, Watch, makeInformer, setHeaderOptions, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness, type Loose } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ bookmarkIntervalMs: 100 });
  await h.core.createNamespace({ body: { metadata: { name: 'w' } } });
});
afterAll(() => h.api.close());

interface Seen {
  type: string;
  name?: string;
  object: Record<string, Loose>;
}

async function watch(
  path: string,
  params: Record<string, string | number | boolean | undefined>,
): Promise<{ events: Seen[]; done: Promise<unknown>; stop: () => void }> {
  const events: Seen[] = [];
  let finish: (err: unknown) => void = () => {};
  const done = new Promise((resolve) => (finish = resolve));
  const controller = await new Watch(h.kc).watch(
    path,
    params,
    (type, object) => events.push({ type, name: object?.metadata?.name, object }),
    (err) => finish(err ?? null),
  );
  return { events, done, stop: () => controller.abort() };
}

const cm = (name: string, labels: Record<string, string> = {}) =>
  h.core.createNamespacedConfigMap({ namespace: 'w', body: { metadata: { name, labels } } });

describe('watch', () => {
  it('streams ADDED/MODIFIED/DELETED, and a selector watcher sees an object leave as DELETED', async () => {
    const all = await watch('/api/v1/namespaces/w/configmaps', {
      resourceVersion: String(h.api.store.resourceVersion),
    });
    const selected = await watch('/api/v1/namespaces/w/configmaps', {
      labelSelector: 'team=a',
      resourceVersion: String(h.api.store.resourceVersion),
    });
    await cm('watched', { team: 'a' });
    await h.core.patchNamespacedConfigMap(
      { namespace: 'w', name: 'watched', body: { metadata: { labels: { team: 'b' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await h.core.deleteNamespacedConfigMap({ namespace: 'w', name: 'watched' });
    await eventually(() => all.events.some((e) => e.type === 'DELETED'), 'DELETED on the unfiltered watch');
    expect(all.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    await eventually(() => selected.events.length >= 2, 'selector watch events');
    expect(selected.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
    expect(selected.events[1]!.object.metadata.labels.team).toBe('b');
    all.stop();
    selected.stop();
  });

  it('resumes from a resourceVersion, replaying only later events', async () => {
    const a = await cm('resume-a');
    await cm('resume-b');
    await cm('resume-c');
    const resumed = await watch('/api/v1/namespaces/w/configmaps', { resourceVersion: a.metadata!.resourceVersion });
    await eventually(() => resumed.events.length >= 2, 'replayed events');
    expect(resumed.events.map((e) => `${e.type}:${e.name}`)).toEqual(['ADDED:resume-b', 'ADDED:resume-c']);
    resumed.stop();
  });

  it('sends a 410 Expired ERROR event and ends the stream when the resourceVersion was compacted', async () => {
    const old = await cm('compacted');
    await cm('compacted-2');
    h.api.compact();
    const expired = await watch('/api/v1/namespaces/w/configmaps', { resourceVersion: old.metadata!.resourceVersion });
    await expired.done;
    expect(expired.events).toHaveLength(1);
    expect(expired.events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
  });

  it('sends bookmarks when allowed and ends the watch after timeoutSeconds', async () => {
    const bookmarked = await watch('/api/v1/namespaces/w/secrets', {
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
      resourceVersion: String(h.api.store.resourceVersion),
    });
    await bookmarked.done;
    const bookmarks = bookmarked.events.filter((e) => e.type === 'BOOKMARK');
    expect(bookmarks.length).toBeGreaterThan(0);
    expect(Number(bookmarks[0]!.object.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('keeps an informer cache correct across a compaction and relist', async () => {
    await h.core.createNamespace({ body: { metadata: { name: 'inf' } } });
    const informer = makeInformer(h.kc, '/api/v1/namespaces/inf/configmaps', () =>
      h.core.listNamespacedConfigMap({ namespace: 'inf' }),
    );
    const deleted: string[] = [];
    informer.on('delete', (o: V1ConfigMap) => deleted.push(o.metadata!.name!));
    let connects = 0;
    informer.on('connect', () => connects++);
    await informer.start();
    await h.core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'one' } } });
    await eventually(() => informer.get('one', 'inf'), 'informer to see one');

    // Stop it, change the world while it is away, compact the history it would resume from, start it again.
    await informer.stop();
    await h.core.createNamespacedConfigMap({ namespace: 'inf', body: { metadata: { name: 'two' } } });
    await h.core.deleteNamespacedConfigMap({ namespace: 'inf', name: 'one' });
    h.api.compact();
    await informer.start();
    await eventually(() => informer.get('two', 'inf') && !informer.get('one', 'inf'), 'informer to relist after 410');
    expect(informer.list('inf').map((o) => o.metadata!.name)).toEqual(['two']);
    expect(deleted).toContain('one');
    // start, restart, and the relist that followed the 410 from the compacted resourceVersion.
    expect(connects).toBeGreaterThanOrEqual(3);
    await informer.stop();
  });
});
