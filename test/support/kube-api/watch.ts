/**
 * Watch streams: newline-delimited JSON events over a chunked HTTP response, exactly what client-go and
 * @kubernetes/client-node's `Watch` parse. A watcher sees an object through its label/field selectors, so a MODIFIED
 * event that moves an object out of (into) its view is delivered as DELETED (ADDED), like the real watch cache.
 */
import type { ServerResponse } from 'node:http';
import { apiVersionOf, storageKeyOf, type Obj, type ResourceType } from './registry.js';
import { matchesFields, matchesLabels, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { expiredError } from './status.js';
import type { ObjectStore, StoreEvent } from './store.js';

export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  /** Undefined or "0": start with synthetic ADDED events for the current state. */
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs: number;
}

export function present(type: ResourceType, object: Obj): Obj {
  // Served versions of one CRD share storage; the client sees the version it asked for.
  return { ...object, apiVersion: apiVersionOf(type) };
}

export function serveWatch(
  store: ObjectStore,
  request: WatchRequest,
  res: ServerResponse,
  onClose: (close: () => void) => () => void,
): void {
  const { type } = request;
  const storageKey = storageKeyOf(type);
  const visible = (o: Obj | undefined) =>
    o !== undefined &&
    (!request.namespace ||
      !type.namespaced ||
      (o.metadata as { namespace?: string }).namespace === request.namespace) &&
    matchesLabels(request.labels, (o.metadata as { labels?: Record<string, string> }).labels) &&
    matchesFields(request.fields, o);

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache',
  });
  res.flushHeaders();
  let lastSent = store.resourceVersion;
  const write = (type_: string, object: Obj) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type: type_, object })}\n`);
  };
  const deliver = (event: StoreEvent) => {
    if (event.storageKey !== storageKey) return;
    const now = visible(event.object);
    const before = event.type === 'MODIFIED' ? visible(event.previous) : event.type === 'DELETED';
    let kind: string | undefined;
    if (event.type === 'ADDED') kind = now ? 'ADDED' : undefined;
    else if (event.type === 'DELETED') kind = now ? 'DELETED' : undefined;
    else if (now && before) kind = 'MODIFIED';
    else if (now) kind = 'ADDED';
    else if (before) kind = 'DELETED';
    lastSent = event.resourceVersion;
    if (kind) write(kind, present(type, event.object));
  };

  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};
  let unregister = () => {};
  const close = () => {
    for (const t of timers) clearTimeout(t);
    unsubscribe();
    unregister();
    if (!res.writableEnded) res.end();
  };
  unregister = onClose(close);
  res.on('close', close);

  const rv = request.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    for (const o of store.list(type, request.namespace)) if (visible(o)) write('ADDED', present(type, o));
  } else {
    const from = Number(rv);
    const replay = Number.isInteger(from) && from >= 0 ? store.eventsSince(from) : null;
    if (replay === null) {
      // client-go reacts to this by relisting; the stream then ends, as on the real server.
      write('ERROR', expiredError(from, store.oldestResumableResourceVersion).toStatus() as unknown as Obj);
      close();
      return;
    }
    for (const event of replay) deliver(event);
  }
  unsubscribe = store.subscribe(deliver);

  if (request.allowBookmarks) {
    const bookmark = () => {
      write('BOOKMARK', {
        kind: type.kind,
        apiVersion: apiVersionOf(type),
        metadata: { resourceVersion: String(Math.max(lastSent, store.resourceVersion)) },
      });
      timers.push(setTimeout(bookmark, request.bookmarkIntervalMs).unref());
    };
    timers.push(setTimeout(bookmark, request.bookmarkIntervalMs).unref());
  }
  if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
    timers.push(setTimeout(close, request.timeoutSeconds * 1000).unref());
  }
}
