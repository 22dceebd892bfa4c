import type { Kysely } from 'kysely';
import type { Storage } from '../storage/database.js';
import type { AuditRecord, AuditSinkInfo } from './types.js';

type AuditLogTable = {
  node_id: string;
  seq: number;
  time: number;
  type: string;
  path: string;
  operation: string;
  accessor_hmac: string | null;
  display_name: string | null;
  remote_address: string | null;
  status: number | null;
  /** 'success' (a response without error), 'error' (any entry with an error) or null (a request entry). 0402. */
  outcome: string | null;
  /** The identity entity the caller's token acts for (auth.entity_id). 0402. */
  entity_id: string | null;
  /** The record's canonical JSON line, exactly as the chain hashed it. */
  record: string;
  prev_hash: string;
  hash: string;
};

type AuditSinksTable = {
  path: string;
  type: string;
  description: string;
  options: string;
  created_at: number;
};

type AuditAnchorsTable = {
  node_name: string;
  file_path: string;
  first_seq: number;
  first_prev_hash: string;
  last_seq: number;
  last_hash: string;
  updated_at: number;
};

export type AuditTables = {
  audit_log: AuditLogTable;
  audit_sinks: AuditSinksTable;
  audit_anchors: AuditAnchorsTable;
};

/** Where an audit file's chain starts and the last entry known durable in it (see file-sink.ts). */
export interface FileAnchor {
  firstSeq: number;
  firstPrevHash: string;
  lastSeq: number;
  lastHash: string;
}

export interface StoredAnchor extends FileAnchor {
  nodeName: string;
  filePath: string;
  updatedAt: number;
}

export type AuditLogRow = AuditLogTable;

export interface AuditRowFilter {
  path?: string;
  accessorHmac?: string;
  displayName?: string;
  entityId?: string;
  /** Any of the three identity columns: display name, entity id, or the accessor's HMAC. */
  identity?: { name: string; accessorHmac: string };
  remoteAddress?: string;
  operation?: string;
  type?: 'request' | 'response';
  outcome?: 'success' | 'error';
  since?: number;
  until?: number;
  /** Rows strictly after this one in the answer's order (newest first): the previous page's last row. */
  after?: RowPosition;
  limit: number;
}

/** Where a row sits in a query's order (time desc, seq desc, node_id asc): a page cursor. */
export interface RowPosition {
  time: number;
  seq: number;
  nodeId: string;
}

/** Rows inserted per statement: well under both engines' bound-parameter limits (13 columns each). */
const INSERT_CHUNK = 500;

/**
 * The columns a forensic query filters on, copied out of the record. The accessor is the caller's
 * (`auth.accessor`), or for a login's response the issued token's, already HMAC'd by redaction.
 */
export function rowOf(nodeId: string, record: AuditRecord, line: string, fallbackTime: number): AuditLogRow {
  const parsedTime = Date.parse(record.time);
  return {
    node_id: nodeId,
    seq: record.seq,
    time: Number.isFinite(parsedTime) ? parsedTime : fallbackTime,
    type: String(record.type),
    path: String(record.request?.path ?? ''),
    operation: String(record.request?.operation ?? ''),
    accessor_hmac: stringOrNull(record.auth?.accessor ?? record.response?.auth?.accessor),
    display_name: stringOrNull(record.auth?.display_name),
    remote_address: stringOrNull(record.request?.remote_address),
    status: typeof record.response?.status === 'number' ? record.response.status : null,
    outcome: outcomeOf(record),
    entity_id: stringOrNull(record.auth?.entity_id),
    record: line,
    prev_hash: record.prev_hash,
    hash: record.hash,
  };
}

const stringOrNull = (value: unknown) => (typeof value === 'string' ? value : null);

/**
 * An entry's outcome: an entry carrying an error (a refused request, a failed response) is an error, and so is a
 * response with an error status; any other response succeeded. A request entry without error has no outcome yet:
 * its response entry tells.
 */
export function outcomeOf(record: Pick<AuditRecord, 'type' | 'error' | 'response'>): 'success' | 'error' | null {
  const status = record.response?.status;
  if (record.error !== undefined || (typeof status === 'number' && status >= 400)) return 'error';
  return record.type === 'response' ? 'success' : null;
}

/**
 * The smallest string greater than every string starting with `prefix`, in code point order (which is byte order
 * for UTF-8, as both engines compare `path`). Null when no such bound exists.
 */
export function prefixUpperBound(prefix: string): string | null {
  const codePoints = Array.from(prefix, (ch) => ch.codePointAt(0)!);
  while (codePoints.length > 0) {
    let last = codePoints.pop()! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000; // surrogates never occur as code points
    if (last <= 0x10ffff) return String.fromCodePoint(...codePoints, last);
  }
  return null;
}

/**
 * Every write resolves only once its commit is durable: on a handle that defers its fsyncs to a commit barrier (the
 * server's own, when the audit service runs on a request thread; storage/commit-barrier.ts) it waits for the flush,
 * and fails (closed) when the flush does; elsewhere a commit is durable when it returns and the wait is nothing. An
 * audit entry in the database device is acknowledged, and a file's anchor trusted, only once on stable storage.
 */
export function createAuditRepository(storage: Storage) {
  const db: Kysely<AuditTables> = storage.db.withTables<AuditTables>();
  const durable = () => storage.flushCommits();

  return {
    /** One transaction for the whole batch: it lands entirely or not at all. */
    async insertRows(rows: AuditLogRow[]): Promise<void> {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await trx
            .insertInto('audit_log')
            .values(rows.slice(i, i + INSERT_CHUNK))
            .execute();
        }
      });
      await durable();
    },

    async lastRow(nodeId: string): Promise<AuditLogRow | undefined> {
      return db
        .selectFrom('audit_log')
        .selectAll()
        .where('node_id', '=', nodeId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    /** A node's chain in order, one page at a time (keyset pagination, so huge logs stream in constant memory). */
    async chainPage(nodeId: string, afterSeq: number, limit: number): Promise<AuditLogRow[]> {
      return db
        .selectFrom('audit_log')
        .selectAll()
        .where('node_id', '=', nodeId)
        .where('seq', '>', afterSeq)
        .orderBy('seq', 'asc')
        .limit(limit)
        .execute();
    },

    async nodeIds(): Promise<string[]> {
      const rows = await db.selectFrom('audit_log').select('node_id').distinct().orderBy('node_id').execute();
      return rows.map((r) => r.node_id);
    },

    async query(filter: AuditRowFilter): Promise<AuditLogRow[]> {
      let q = db.selectFrom('audit_log').selectAll();
      if (filter.path !== undefined) {
        if (filter.path.endsWith('*')) {
          const prefix = filter.path.slice(0, -1);
          if (prefix !== '') {
            q = q.where('path', '>=', prefix);
            const upper = prefixUpperBound(prefix);
            if (upper !== null) q = q.where('path', '<', upper);
          }
        } else {
          q = q.where('path', '=', filter.path);
        }
      }
      if (filter.accessorHmac !== undefined) q = q.where('accessor_hmac', '=', filter.accessorHmac);
      if (filter.displayName !== undefined) q = q.where('display_name', '=', filter.displayName);
      if (filter.entityId !== undefined) q = q.where('entity_id', '=', filter.entityId);
      const identity = filter.identity;
      if (identity !== undefined) {
        q = q.where((eb) =>
          eb.or([
            eb('display_name', '=', identity.name),
            eb('entity_id', '=', identity.name),
            eb('accessor_hmac', '=', identity.accessorHmac),
          ]),
        );
      }
      if (filter.remoteAddress !== undefined) q = q.where('remote_address', '=', filter.remoteAddress);
      if (filter.operation !== undefined) q = q.where('operation', '=', filter.operation);
      if (filter.type !== undefined) q = q.where('type', '=', filter.type);
      if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome);
      if (filter.since !== undefined) q = q.where('time', '>=', filter.since);
      if (filter.until !== undefined) q = q.where('time', '<=', filter.until);
      const after = filter.after;
      if (after !== undefined) {
        // Keyset paging in the answer's order: older time, or the same time and a lower seq, or the same time and
        // seq on a node sorting later. Entries written meanwhile are newer (but for the milliseconds between an
        // entry's time and its commit), so they land before the first page, never inside a later one.
        q = q.where((eb) =>
          eb.or([
            eb('time', '<', after.time),
            eb.and([eb('time', '=', after.time), eb('seq', '<', after.seq)]),
            eb.and([eb('time', '=', after.time), eb('seq', '=', after.seq), eb('node_id', '>', after.nodeId)]),
          ]),
        );
      }
      return q.orderBy('time', 'desc').orderBy('seq', 'desc').orderBy('node_id').limit(filter.limit).execute();
    },

    async listSinks(): Promise<AuditSinkInfo[]> {
      const rows = await db.selectFrom('audit_sinks').selectAll().orderBy('path').execute();
      return rows.map((row) => ({
        path: row.path,
        type: row.type as AuditSinkInfo['type'],
        description: row.description,
        options: JSON.parse(row.options) as Record<string, string>,
      }));
    },

    async insertSink(info: AuditSinkInfo, now: number): Promise<void> {
      await db
        .insertInto('audit_sinks')
        .values({
          path: info.path,
          type: info.type,
          description: info.description,
          options: JSON.stringify(info.options),
          created_at: now,
        })
        .execute();
      await durable();
    },

    async deleteSink(path: string): Promise<void> {
      await db.deleteFrom('audit_sinks').where('path', '=', path).execute();
      await durable();
    },

    async loadAnchor(nodeName: string, filePath: string): Promise<FileAnchor | undefined> {
      const row = await db
        .selectFrom('audit_anchors')
        .selectAll()
        .where('node_name', '=', nodeName)
        .where('file_path', '=', filePath)
        .executeTakeFirst();
      return row ? anchorOf(row) : undefined;
    },

    /** Anchors of one file path (every node's, or one node's). */
    async anchorsFor(filePath: string, nodeName?: string): Promise<StoredAnchor[]> {
      let q = db.selectFrom('audit_anchors').selectAll().where('file_path', '=', filePath);
      if (nodeName !== undefined) q = q.where('node_name', '=', nodeName);
      const rows = await q.orderBy('node_name').execute();
      return rows.map((row) => ({
        ...anchorOf(row),
        nodeName: row.node_name,
        filePath: row.file_path,
        updatedAt: Number(row.updated_at),
      }));
    },

    async saveAnchor(nodeName: string, filePath: string, anchor: FileAnchor, now: number): Promise<void> {
      const values = {
        first_seq: anchor.firstSeq,
        first_prev_hash: anchor.firstPrevHash,
        last_seq: anchor.lastSeq,
        last_hash: anchor.lastHash,
        updated_at: now,
      };
      await db
        .insertInto('audit_anchors')
        .values({ node_name: nodeName, file_path: filePath, ...values })
        .onConflict((oc) => oc.columns(['node_name', 'file_path']).doUpdateSet(values))
        .execute();
      await durable();
    },
  };
}

function anchorOf(row: AuditAnchorsTable): FileAnchor {
  return {
    firstSeq: Number(row.first_seq),
    firstPrevHash: row.first_prev_hash,
    lastSeq: Number(row.last_seq),
    lastHash: row.last_hash,
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
