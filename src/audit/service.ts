import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { invalid, StrongroomError } from '../shared/errors.js';
import type { Storage } from '../storage/database.js';
import { openDatabaseSink } from './db-sink.js';
import { openFileSink } from './file-sink.js';
import { createSerializer } from './group-commit.js';
import { createRedactor, HMAC_PREFIX } from './redact.js';
import { createAuditRepository, type AuditRepository } from './repository.js';
import type { AuditSink } from './sink.js';
import type { AuditEvent, AuditQuery, AuditRecord, AuditService, AuditSinkInfo } from './types.js';
import { verifyDatabaseChain } from './verify.js';

export interface AuditServiceDeps {
  /** The server passes barrier.deriveKey('audit-hmac'): stable across key rotations, so hashes stay comparable. */
  hmacKey: Uint8Array;
  storage: Storage;
  /** This process's chain id in the database device; random per process by default. */
  nodeId?: string;
  clock?: () => number;
}

const DEFAULT_QUERY_LIMIT = 100;
const MAX_QUERY_LIMIT = 10_000;
const SINK_OPTIONS: Record<AuditSinkInfo['type'], ReadonlySet<string>> = {
  file: new Set(['file_path', 'mode']),
  database: new Set(),
};

interface ActiveSink {
  info: AuditSinkInfo;
  sink: AuditSink;
}

/**
 * The audit service (Vault's audit devices). `log()` redacts an event once, hands it to every enabled device in
 * parallel, and resolves only when all of them made it durable; if any fails it rejects, and the caller must not
 * serve the response (fail closed). With no device enabled nothing is written, as in Vault.
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

  const openSink = (info: AuditSinkInfo) => openDevice(info, { repository, nodeId, clock });

  for (const info of await repository.listSinks()) {
    try {
      active.set(info.path, { info, sink: await openSink(info) });
    } catch (err) {
      await Promise.allSettled([...active.values()].map((a) => a.sink.close()));
      const reason = err instanceof Error ? err.message : String(err);
      throw new StrongroomError('unavailable', `audit device "${info.path}" could not be opened: ${reason}`, undefined, { cause: err });
    }
  }

  const closedError = () => new StrongroomError('unavailable', 'the audit log is closed');

  /** Redacts once, hands the entries to every device in parallel, resolves when all made them durable. */
  async function write(events: readonly AuditEvent[]): Promise<void> {
    if (closed) throw closedError();
    if (active.size === 0 || events.length === 0) return;
    const redacted = events.length === 1 ? [redactor.redact(events[0]!)] : redactor.redactAll(events);
    if (active.size === 1) {
      // The common case (one device): no fan-out bookkeeping.
      const only = active.values().next().value!;
      try {
        await (redacted.length === 1 ? only.sink.append(redacted[0]!) : only.sink.appendAll(redacted));
      } catch (err) {
        throw deviceFailure([{ path: only.info.path, err }]);
      }
      return;
    }
    const sinks = [...active.values()];
    const results = await Promise.allSettled(
      sinks.map((a) => (redacted.length === 1 ? a.sink.append(redacted[0]!) : a.sink.appendAll(redacted))),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ path: sinks[i]!.info.path, err: r.reason as unknown }] : []));
    if (failed.length > 0) throw deviceFailure(failed);
  }

  return {
    nodeId,

    log: (event: AuditEvent) => write([event]),

    logAll: (events: readonly AuditEvent[]) => write(events),

    hash: (input: string) => redactor.hash(input),

    enable: (requested: AuditSinkInfo) =>
      configChange(async () => {
        if (closed) throw closedError();
        const info = validateSinkInfo(requested);
        if (active.has(info.path)) throw invalid(`path "${info.path}" is already in use by an audit device`);
        for (const other of active.values()) {
          if (info.type === 'database' && other.info.type === 'database') {
            throw invalid(`a database audit device is already enabled at "${other.info.path}"`);
          }
          if (info.type === 'file' && other.info.type === 'file' && other.info.options.file_path === info.options.file_path) {
            throw invalid(`audit device "${other.info.path}" already writes to ${info.options.file_path}`);
          }
        }
        let sink: AuditSink;
        try {
          sink = await openSink(info);
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          throw new StrongroomError('invalid', `cannot enable audit device "${info.path}": ${reason}`, undefined, { cause: err });
        }
        try {
          await repository.insertSink(info, clock());
        } catch (err) {
          await sink.close().catch(() => undefined);
          throw new StrongroomError('invalid', `cannot enable audit device "${info.path}": path already in use or not saved`, undefined, { cause: err });
        }
        active.set(info.path, { info, sink });
      }),

    disable: (rawPath: string) =>
      configChange(async () => {
        const path = normalizeDevicePath(rawPath);
        const entry = active.get(path);
        // Stop routing new entries first; entries already queued still get written (close drains).
        active.delete(path);
        await repository.deleteSink(path);
        await entry?.sink.close();
      }),

    list: async () => [...active.values()].map((a) => copyInfo(a.info)).sort((a, b) => a.path.localeCompare(b.path)),

    async query(query: AuditQuery): Promise<AuditRecord[]> {
      const limit = query.limit ?? DEFAULT_QUERY_LIMIT;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
        throw invalid(`limit must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
      }
      const accessor = query.accessor;
      const rows = await repository.query({
        ...(query.path !== undefined ? { path: query.path } : {}),
        ...(accessor !== undefined ? { accessorHmac: accessor.startsWith(HMAC_PREFIX) ? accessor : redactor.hash(accessor) } : {}),
        ...(query.displayName !== undefined ? { displayName: query.displayName } : {}),
        ...(query.operation !== undefined ? { operation: query.operation } : {}),
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.until !== undefined ? { until: query.until } : {}),
        limit,
      });
      return rows.map((row) => JSON.parse(row.record) as AuditRecord);
    },

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

function deviceFailure(failed: ReadonlyArray<{ path: string; err: unknown }>): StrongroomError {
  const first = failed[0]!;
  const reason = first.err instanceof Error ? first.err.message : String(first.err);
  return new StrongroomError('unavailable', reason, { failedDevices: failed.map((f) => f.path) }, { cause: first.err });
}

function openDevice(info: AuditSinkInfo, ctx: { repository: AuditRepository; nodeId: string; clock: () => number }): Promise<AuditSink> {
  const description = `device "${info.path}"`;
  if (info.type === 'database') {
    return openDatabaseSink({ repository: ctx.repository, nodeId: ctx.nodeId, clock: ctx.clock, description });
  }
  const mode = info.options.mode;
  return openFileSink({
    filePath: info.options.file_path!,
    ...(mode !== undefined ? { mode: parseInt(mode, 8) } : {}),
    description,
  });
}

/** Vault writes device paths with a trailing slash ('file' and 'file/' name the same device). */
export function normalizeDevicePath(path: string): string {
  const trimmed = path.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,200}$/.test(trimmed) || trimmed.split('/').includes('..')) {
    throw invalid('audit device path must be letters, digits, "_", "-", "." and "/", e.g. "file/"');
  }
  return `${trimmed}/`;
}

function validateSinkInfo(info: AuditSinkInfo): AuditSinkInfo {
  const type = info.type;
  if (type !== 'file' && type !== 'database') {
    throw invalid(`unsupported audit device type "${String(type)}" (supported: file, database)`);
  }
  const path = normalizeDevicePath(info.path || type);
  const options: Record<string, string> = {};
  for (const [key, value] of Object.entries(info.options ?? {})) {
    if (!SINK_OPTIONS[type].has(key)) {
      // log_raw / hmac_accessor=false would put secrets in the log: never supported, and never silently ignored.
      throw invalid(`unsupported option "${key}" for a ${type} audit device`);
    }
    if (typeof value !== 'string') throw invalid(`option "${key}" must be a string`);
    options[key] = value;
  }
  if (type === 'file') {
    const filePath = options.file_path;
    if (!filePath) throw invalid('a file audit device needs the option file_path');
    if (!isAbsolute(filePath)) throw invalid('file_path must be an absolute path');
    if (options.mode !== undefined && !/^0?[0-7]{3}$/.test(options.mode)) {
      throw invalid('mode must be octal permission bits, e.g. "0600"');
    }
  }
  return { path, type, description: info.description ?? '', options };
}

function copyInfo(info: AuditSinkInfo): AuditSinkInfo {
  return { ...info, options: { ...info.options } };
}
