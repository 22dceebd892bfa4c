import { StrongroomError } from '../shared/errors.js';

/**
 * Storage that cannot serve right now — the database is unreachable, out of space, locked past its timeout, or
 * failing I/O — is a 503 to the caller ("retry later, elsewhere"), never a 500 ("we have a bug"). This module
 * recognises those failures in what the drivers (pg, better-sqlite3) throw and turns them into one typed error with a
 * message written for people. Everything else (a constraint violation, a syntax error, corruption) passes through
 * unchanged: those are not outages.
 */
export type StorageFailureReason = 'unreachable' | 'full' | 'busy' | 'io';

const MESSAGES: Record<StorageFailureReason, string> = {
  unreachable: 'storage unavailable: the database cannot be reached; retry shortly',
  full: 'storage full: the database has no space left to write; request not served',
  busy: 'storage busy: the database stayed locked longer than its timeout; retry shortly',
  io: 'storage unavailable: the database reported an I/O error; request not served',
};

/**
 * The error callers see. `details.storage` names the reason (it survives the trip across the audit thread, where
 * only kind, message and details travel). The driver's own code and message are kept for the server log only:
 * they name conditions ("database or disk is full", "terminating connection due to administrator command"), never
 * row values; the driver error itself (PostgreSQL's `detail` can quote a row) is not kept.
 */
export class StorageUnavailableError extends StrongroomError {
  readonly reason: StorageFailureReason;
  readonly driverCode: string;
  readonly driverMessage: string;
  constructor(reason: StorageFailureReason, driverCode: string, driverMessage: string) {
    super('unavailable', MESSAGES[reason], { storage: reason, code: driverCode });
    this.name = 'StorageUnavailableError';
    this.reason = reason;
    this.driverCode = driverCode;
    this.driverMessage = driverMessage.slice(0, 300);
  }
}

/**
 * The same failure, rebuilt from its wire form (kind, message, details) after it crossed from another thread's
 * handle; the driver's message did not travel, the code did.
 */
export function storageFailureFromWire(err: StrongroomError, where: string): StorageUnavailableError | null {
  const reason = err.details?.storage;
  if (reason !== 'unreachable' && reason !== 'full' && reason !== 'busy' && reason !== 'io') return null;
  const code = typeof err.details?.code === 'string' ? err.details.code : 'none';
  return new StorageUnavailableError(reason, code, `reported by ${where}`);
}

/** Whether an error (possibly rebuilt from the audit thread's wire form) is a storage outage. */
export function isStorageUnavailable(err: unknown): err is StrongroomError {
  return err instanceof StrongroomError && err.kind === 'unavailable' && typeof err.details?.storage === 'string';
}

interface DriverError {
  code?: unknown;
  message?: unknown;
}

// Socket-level failures between us and the database server (pg surfaces Node's errno codes).
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

// pg and Kysely throw plain Errors, without a code, when a session is gone or never came.
const LOST_SESSION_MESSAGES = [
  /^Connection terminated/, // unexpectedly | due to connection timeout
  /^timeout exceeded when trying to connect$/, // pool: no client within connectionTimeoutMillis (exhausted or unreachable)
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  /^Postgres connection has been discarded$/,
  /^Query read timeout$/,
];

function postgresReason(code: string, message: string): StorageFailureReason | null {
  // SQLSTATE classes: 08 connection exception; 57P01-57P05 the server is shutting down or crashed; 53 insufficient
  // resources (53100 disk full, 53200 out of memory, 53300 too many connections); 58 system (I/O) errors.
  if (code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300') return 'unreachable';
  if (code === '53100') return 'full';
  if (code.startsWith('53')) return 'unreachable';
  if (code.startsWith('58')) return 'io';
  // 55000 is a broad class; only "database ... is not currently accepting connections" is an outage.
  if (code === '55000' && /not currently accepting connections|does not allow connections/.test(message))
    return 'unreachable';
  return null;
}

function sqliteReason(code: string): StorageFailureReason | null {
  if (code === 'SQLITE_FULL') return 'full';
  if (
    code === 'SQLITE_BUSY' ||
    code.startsWith('SQLITE_BUSY_') ||
    code === 'SQLITE_LOCKED' ||
    code.startsWith('SQLITE_LOCKED_')
  )
    return 'busy';
  // IOERR_* includes the file-size limit (RLIMIT_FSIZE) and ENOSPC that SQLite did not classify as FULL.
  if (
    code.startsWith('SQLITE_IOERR') ||
    code === 'SQLITE_NOMEM' ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY')
  ) {
    return 'io';
  }
  return null;
}

/**
 * The storage outage `err` stands for, or null when it is something else. `connecting`: the error came from
 * obtaining a connection, where any failure (refused, wrong password, database missing) means the database
 * cannot serve us.
 */
export function storageFailureOf(err: unknown, connecting = false): StorageUnavailableError | null {
  if (err instanceof StorageUnavailableError) return err;
  if (err instanceof StrongroomError || typeof err !== 'object' || err === null) return null;
  const { code, message } = err as DriverError;
  const text = typeof message === 'string' ? message : '';
  const codeText = typeof code === 'string' ? code : '';
  let reason: StorageFailureReason | null = null;
  if (codeText.startsWith('SQLITE_')) reason = sqliteReason(codeText);
  else if (NETWORK_CODES.has(codeText)) reason = 'unreachable';
  else if (/^[0-9A-Z]{5}$/.test(codeText)) reason = postgresReason(codeText, text);
  else if (LOST_SESSION_MESSAGES.some((pattern) => pattern.test(text))) reason = 'unreachable';
  if (!reason && connecting) reason = 'unreachable';
  return reason ? new StorageUnavailableError(reason, codeText || 'none', text) : null;
}
