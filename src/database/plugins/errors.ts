/**
 * What a plugin throws when its database refuses or cannot be reached. The message is the database's (or driver's)
 * own text with the configured password masked, so it can go into a Vault-like error and a log line safely.
 */
export class DatabasePluginError extends Error {
  /** The driver's error code where it has one ('28P01', 'ER_ACCESS_DENIED_ERROR', 'ECONNREFUSED'). */
  readonly code: string | undefined;

  constructor(message: string, code?: string) {
    super(message);
    this.name = 'DatabasePluginError';
    this.code = code;
  }
}

/**
 * The code of the error a closed connection throws: the engine closed it because its config changed (rotate-root,
 * an update, reset) while a request still held it, and retries once on the config's new pool.
 */
export const POOL_CLOSED = 'STRONGROOM_POOL_CLOSED';

export function poolClosedError(): DatabasePluginError {
  return new DatabasePluginError('the connection pool was closed because its configuration changed', POOL_CLOSED);
}

/**
 * Wraps a driver error, masking every secret given (the root password, the generated password, their URL-encoded
 * forms): drivers sometimes echo the statement or the connection string in their message.
 */
export function pluginError(err: unknown, secrets: readonly (string | undefined)[]): DatabasePluginError {
  const raw = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return new DatabasePluginError(maskSecrets(raw, secrets), typeof code === 'string' ? code : undefined);
}

export function maskSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('*****');
  }
  return out.slice(0, 500);
}

/** Error codes that mean the database could not be reached (as opposed to a statement it refused). */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  POOL_CLOSED,
  '57P01', // admin_shutdown
  '57P03', // cannot_connect_now
]);

/** Whether a plugin error says the database is unreachable (503) rather than refusing a statement (400). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof DatabasePluginError)) return false;
  return (err.code !== undefined && UNREACHABLE.has(err.code)) || /timeout|terminated unexpectedly/i.test(err.message);
}
