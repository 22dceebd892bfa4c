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
