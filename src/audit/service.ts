import { randomUUID } from 'node:crypto';
import { invalid, StrongroomError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { fanOut } from './broker.js';
import { openDatabaseSink } from './db-sink.js';
import { confirmInsideAllowedDirs, NODE_PLACEHOLDER, parseFileDeviceOptions } from './file-options.js';
import { openFileSink } from './file-sink.js';
import { createSerializer } from './group-commit.js';
import { createRedactor, HMAC_PREFIX } from './redact.js';
import { createAuditRepository, type AuditRepository, type RowPosition } from './repository.js';
import type { AuditSink } from './sink.js';
import { elidingListResponses, openDiscardSink, openStdoutSink } from './stream-sink.js';
import type { AuditEvent, AuditPage, AuditQuery, AuditService, AuditSinkInfo } from './types.js';
import { verifyDatabaseChain } from './verify.js';
import { verifyOpenDevices } from './verify-devices.js';

export interface AuditServiceDeps {
  /** The server passes barrier.deriveKey('audit-hmac'): stable across key rotations, so hashes stay comparable. */
  hmacKey: Uint8Array;
  storage: Storage;
  /** This process's chain id in the database device; random per process by default. */
  nodeId?: string;
  /**
   * File devices: this process's node name (`{node}` in file paths, the key of its file anchors; default "local")
   * and the directories a device enabled through sys/audit may write in (null: anywhere — embedding and tests only;
   * the server always passes its configuration).
   */
  files?: { nodeName: string; allowedDirs: readonly string[] | null };
  /**
   * Devices that belong to this process (the server's --audit-file): opened with the service, listed with
   * `local: true`, never recorded in the database and never disabled through the API.
   */
  localDevices?: readonly AuditSinkInfo[];
  clock?: () => number;
}

/** Where the server lists its --audit-file device: reserved for this process's own device, never store-wide. */
export const LOCAL_FILE_DEVICE_PATH = 'audit-file/';

const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 10_000;
const DEFAULT_VERIFY_BUDGET_MS = 10_000;

/**
 * A page cursor: where the previous page ended (time, seq, node). Opaque to clients (base64url JSON) and checked on
 * the way back in, so a damaged cursor is a clear 400 rather than a query over garbage.
 */
export function encodeCursor(position: RowPosition): string {
  return Buffer.from(JSON.stringify([position.time, position.seq, position.nodeId]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): RowPosition {
  const bad = () => invalid('cursor is not one this server returned (use next_cursor from the previous page)');
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !Number.isSafeInteger(parsed[0]) ||
    !Number.isSafeInteger(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    parsed[2].length === 0 ||
    parsed[2].length > 64
  )
    throw bad();
  return { time: parsed[0] as number, seq: parsed[1] as number, nodeId: parsed[2] };
}

interface ActiveSink {
  info: AuditSinkInfo;
  sink: AuditSink;
}

/**
 * The audit service (Vault's audit devices). `log()` passes an event to the broker's fan-out (broker.ts), which
 * redacts it once, hands it to every enabled device in parallel, and resolves only when all of them made it durable;
 * if any fails it rejects, and the caller must not serve the response (fail closed). With no device enabled nothing
 * is written, as in Vault. Entries are built by the broker's logRequest/logResponse.
 *
 * Enabled devices are persisted and reopened by the factory, which is why it is async: a device that cannot be
 * reopened (say, a file whose last line is damaged) makes the factory throw, so the server refuses to start rather
 * than run unaudited.
 */
export async function createAuditService(deps: AuditServiceDeps): Promise<AuditService> {
  const nodeId = deps.nodeId ?? randomUUID();
  if (nodeId === '' || nodeId.length > 64) throw invalid('audit node id must be 1 to 64 characters');
  const redactor = createRedactor(deps.hmacKey);
  const repository = createAuditRepository(deps.storage);
  const clock = deps.clock ?? Date.now;
  const active = new Map<string, ActiveSink>();
  const configChange = createSerializer();
  let closed = false;

  const files = { nodeName: deps.files?.nodeName ?? 'local', allowedDirs: deps.files?.allowedDirs ?? null };
  const deviceContext: DeviceContext = { repository, nodeId, clock, files };
  const openSink = (info: AuditSinkInfo) => openDevice(info, deviceContext);

  // This process's own devices first, then the store-wide ones recorded in the database. A device that cannot be
  // opened makes the factory throw (the caller retries); one refused for a cut chain is also reported, loudly, to
  // every device that did open.
  const local = (deps.localDevices ?? []).map((info) => ({ ...validateSinkInfo(info, files), local: true }));
  const failures: Array<{ info: AuditSinkInfo; err: unknown }> = [];
  for (const info of [...local, ...(await repository.listSinks())]) {
    if (active.has(info.path)) {
      failures.push({
        info,
        err: invalid(`audit device path "${info.path}" is taken by this process's --audit-file device`),
      });
      continue;
    }
    try {
      active.set(info.path, { info, sink: await openSink(info) });
    } catch (err) {
      failures.push({ info, err });
    }
  }
  if (failures.length > 0) {
    await reportIntegrityFailures(failures, [...active.values()], clock);
    await Promise.allSettled([...active.values()].map((a) => a.sink.close()));
    const { info, err } = failures[0]!;
    const reason = err instanceof Error ? err.message : String(err);
    const details =
      err instanceof StrongroomError && err.details ? { ...err.details, device: info.path } : { device: info.path };
    throw new StrongroomError('unavailable', `audit device "${info.path}" could not be opened: ${reason}`, details, {
      cause: err,
    });
  }

  const closedError = () => new StrongroomError('unavailable', 'the audit log is closed');
  /** One verification at a time: each reads whole logs, and a second one asked meanwhile waits its turn. */
  const verification = createSerializer();

  async function queryPage(query: AuditQuery): Promise<AuditPage> {
    const limit = query.limit ?? DEFAULT_QUERY_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
      throw invalid(`limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
    }
    const accessorHmac = (accessor: string) => (accessor.startsWith(HMAC_PREFIX) ? accessor : redactor.hash(accessor));
    const { accessor, identity } = query;
    const rows = await repository.query({
      ...(query.path !== undefined ? { path: query.path } : {}),
      ...(accessor !== undefined ? { accessorHmac: accessorHmac(accessor) } : {}),
      ...(query.displayName !== undefined ? { displayName: query.displayName } : {}),
      ...(query.entityId !== undefined ? { entityId: query.entityId } : {}),
      ...(identity !== undefined ? { identity: { name: identity, accessorHmac: accessorHmac(identity) } } : {}),
      ...(query.remoteAddress !== undefined ? { remoteAddress: query.remoteAddress } : {}),
      ...(query.operation !== undefined ? { operation: query.operation } : {}),
      ...(query.type !== undefined ? { type: query.type } : {}),
      ...(query.outcome !== undefined ? { outcome: query.outcome } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
      ...(query.until !== undefined ? { until: query.until } : {}),
      ...(query.cursor !== undefined ? { after: decodeCursor(query.cursor) } : {}),
      limit,
    });
    const entries = rows.map((row) => JSON.parse(row.record) as AuditPage['entries'][number]);
    const last = rows[rows.length - 1];
    // A full page may have more behind it; a short one is the end.
    if (rows.length < limit || !last) return { entries };
    return {
      entries,
      nextCursor: encodeCursor({ time: Number(last.time), seq: Number(last.seq), nodeId: last.node_id }),
    };
  }

  /** The broker's fan-out over the open devices (broker.ts): redact once, every device, fail closed. */
  async function write(events: readonly AuditEvent[]): Promise<void> {
    if (closed) throw closedError();
    return fanOut(redactor, active, events);
  }

  return {
    nodeId,

    log: (event: AuditEvent) => write([event]),

    logAll: (events: readonly AuditEvent[]) => write(events),

    hash: (input: string) => redactor.hash(input),

    enable: (requested: AuditSinkInfo) =>
      configChange(async () => {
        if (closed) throw closedError();
        // Every option is checked, and the path confined, before anything on disk is touched.
        const { local: _ignored, ...asked } = requested;
        const info = validateSinkInfo(asked, files);
        if (active.has(info.path)) throw invalid(`path "${info.path}" is already in use by an audit device`);
        const target = info.type === 'file' ? fileTargetOf(info, files) : null;
        for (const other of active.values()) {
          if (info.type === 'database' && other.info.type === 'database') {
            throw invalid(`a database audit device is already enabled at "${other.info.path}"`);
          }
          const otherTarget = other.info.type === 'file' ? fileTargetOf(other.info, files) : null;
          if (target?.kind === 'file' && otherTarget?.kind === 'file' && otherTarget.path === target.path) {
            throw invalid(`audit device "${other.info.path}" already writes to ${target.path}`);
          }
        }
        if (target?.kind === 'file' && files.allowedDirs !== null)
          await confirmInsideAllowedDirs(target.path, files.allowedDirs);
        let sink: AuditSink;
        try {
          sink = await openSink(info);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          throw new StrongroomError('invalid', `cannot enable audit device "${info.path}": ${reason}`, undefined, {
            cause: err,
          });
        }
        try {
          await repository.insertSink(info, clock());
        } catch (err) {
          await sink.close().catch(() => undefined);
          throw new StrongroomError(
            'invalid',
            `cannot enable audit device "${info.path}": path already in use or not saved`,
            undefined,
            { cause: err },
          );
        }
        active.set(info.path, { info, sink });
      }),

    disable: (rawPath: string) =>
      configChange(async () => {
        const path = normalizeDevicePath(rawPath);
        const entry = active.get(path);
        if (entry?.info.local) {
          throw invalid(
            `audit device "${path}" belongs to this server process (--audit-file); restart it without the flag to remove it`,
          );
        }
        // Stop routing new entries first; entries already queued still get written (close drains).
        active.delete(path);
        await repository.deleteSink(path);
        await entry?.sink.close();
      }),

    // After any enable or disable in flight: a caller comparing with the recorded devices never sees one half-done.
    list: () =>
      configChange(async () =>
        [...active.values()].map((a) => copyInfo(a.info)).sort((a, b) => a.path.localeCompare(b.path)),
      ),

    query: async (query: AuditQuery) => (await queryPage(query)).entries,

    queryPage: (query: AuditQuery) => queryPage(query),

    verifyDevices: (options?: { budgetMs?: number }) =>
      verification(() =>
        verifyOpenDevices(
          [...active.values()].map((a) => ({ info: a.info, sink: a.sink })),
          { repository, clock, budgetMs: options?.budgetMs ?? DEFAULT_VERIFY_BUDGET_MS },
        ),
      ),

    queueDepth: () => [...active.values()].reduce((sum, a) => sum + a.sink.depth(), 0),

    deviceCount: () => active.size,

    healthy: () => !closed,

    reopen: async () => {
      const results = await Promise.allSettled([...active.values()].map((a) => a.sink.reopen()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },

    verifyDatabaseChain: (node?: string) => verifyDatabaseChain(repository, node),

    close: () =>
      configChange(async () => {
        if (closed) return;
        closed = true;
        const sinks = [...active.values()];
        active.clear();
        const results = await Promise.allSettled(sinks.map((a) => a.sink.close()));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }),
  };
}

interface DeviceContext {
  repository: AuditRepository;
  nodeId: string;
  clock: () => number;
  files: { nodeName: string; allowedDirs: readonly string[] | null };
}

async function openDevice(info: AuditSinkInfo, ctx: DeviceContext): Promise<AuditSink> {
  const description = `device "${info.path}"`;
  if (info.type === 'database') {
    return openDatabaseSink({ repository: ctx.repository, nodeId: ctx.nodeId, clock: ctx.clock, description });
  }
  // Checked again on every open: a recorded device must also fit this process's configuration.
  const spec = parseFileDeviceOptions(info.options, {
    nodeName: ctx.files.nodeName,
    allowedDirs: info.local ? null : ctx.files.allowedDirs,
  });
  let sink: AuditSink;
  if (spec.target.kind === 'stdout') sink = openStdoutSink(description);
  else if (spec.target.kind === 'discard') sink = openDiscardSink();
  else {
    const filePath = spec.target.path;
    if (!info.local && ctx.files.allowedDirs !== null) await confirmInsideAllowedDirs(filePath, ctx.files.allowedDirs);
    const { repository, files, clock } = ctx;
    try {
      sink = await openFileSink({
        filePath,
        mode: spec.mode,
        description,
        anchor: {
          load: () => repository.loadAnchor(files.nodeName, filePath),
          save: (anchor) => repository.saveAnchor(files.nodeName, filePath, anchor, clock()),
        },
      });
    } catch (err) {
      throw withSharingHint(err, info);
    }
  }
  return spec.elideListResponses ? elidingListResponses(sink) : sink;
}

/**
 * A store-wide file device whose path two processes share (same host, or a shared volume): say how to give each
 * process its own file.
 */
function withSharingHint(err: unknown, info: AuditSinkInfo): unknown {
  if (
    !(err instanceof StrongroomError) ||
    !err.details?.lockedBy ||
    info.local ||
    info.options.file_path?.includes(NODE_PLACEHOLDER)
  )
    return err;
  return new StrongroomError(
    'unavailable',
    `${err.message}. Several server processes share this device: enable it with ${NODE_PLACEHOLDER} in file_path ` +
      `(e.g. file_path=/var/log/strongroom/audit-${NODE_PLACEHOLDER}.log) so that each process writes its own file, named after its --node-name`,
    err.details,
    { cause: err },
  );
}

function fileTargetOf(info: AuditSinkInfo, files: DeviceContext['files']) {
  return parseFileDeviceOptions(info.options, { nodeName: files.nodeName, allowedDirs: null }).target;
}

/**
 * A device refused because its file was cut (see file-sink.ts) is an event worth an audit entry of its own, on every
 * device that could be opened: best effort, since the service is about to fail closed anyway.
 */
async function reportIntegrityFailures(
  failures: ReadonlyArray<{ info: AuditSinkInfo; err: unknown }>,
  opened: ActiveSink[],
  clock: () => number,
) {
  const events: AuditEvent[] = failures
    .filter(({ err }) => err instanceof StrongroomError && err.details?.integrity !== undefined)
    .map(({ info, err }) => ({
      type: 'request',
      time: new Date(clock()).toISOString(),
      request: { id: randomUUID(), operation: 'update', path: `sys/audit/${info.path}` },
      error: `audit chain integrity: ${(err as Error).message}`,
    }));
  if (events.length === 0) return;
  await Promise.allSettled(opened.map((a) => a.sink.appendAll(events)));
}

/** Vault writes device paths with a trailing slash ('file' and 'file/' name the same device). */
export function normalizeDevicePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,200}$/.test(trimmed) || trimmed.split('/').includes('..')) {
    throw invalid('audit device path must be letters, digits, "_", "-", "." and "/", e.g. "file/"');
  }
  return `${trimmed}/`;
}

function validateSinkInfo(info: AuditSinkInfo, files: DeviceContext['files']): AuditSinkInfo {
  const type = info.type;
  if (type !== 'file' && type !== 'database') {
    throw invalid(`unsupported audit device type "${String(type)}" (supported: file, database)`);
  }
  const path = normalizeDevicePath(info.path || type);
  if (path === LOCAL_FILE_DEVICE_PATH && !info.local) {
    throw invalid(`"${LOCAL_FILE_DEVICE_PATH}" is reserved for a server process's own --audit-file device`);
  }
  const options: Record<string, string> = {};
  for (const [key, value] of Object.entries(info.options ?? {})) {
    if (typeof value !== 'string') throw invalid(`option "${key}" must be a string`);
    options[key] = value;
  }
  if (type === 'database') {
    const extra = Object.keys(options)[0];
    if (extra !== undefined) throw invalid(`unsupported option "${extra}" for a database audit device`);
  } else {
    parseFileDeviceOptions(options, { nodeName: files.nodeName, allowedDirs: info.local ? null : files.allowedDirs });
  }
  return { path, type, description: info.description ?? '', options, ...(info.local ? { local: true } : {}) };
}

function copyInfo(info: AuditSinkInfo): AuditSinkInfo {
  return { ...info, options: { ...info.options } };
}
