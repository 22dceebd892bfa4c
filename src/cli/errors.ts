import { CommanderError } from 'commander';
import { ApiError } from '../client/errors.js';

/**
 * Exit codes, as scripts rely on them: 0 success, 1 server or system error, 2 usage error (bad flags, arguments or
 * input files the user can fix before retrying).
 */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A mistake on the command line or in an input file: exit 2. Messages never quote a value the user passed. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure that is not the caller's syntax (I/O, an unexpected server answer): exit 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The one-line form every error takes on stderr: `Error: <what> — try <what next>`. */
export function errorLine(message: string, hint?: string): string {
  const what = message.replace(/\s*\n\s*/g, '; ').trim();
  return hint ? `Error: ${what} — try ${hint}` : `Error: ${what}`;
}

export interface DescribedError {
  line: string;
  exitCode: number;
}

/** Maps anything thrown by a command to its stderr line and exit code. Never includes a request body or token. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof UsageError) return { line: errorLine(err.message, err.hint), exitCode: EXIT_USAGE };
  if (err instanceof CliError) return { line: errorLine(err.message, err.hint), exitCode: EXIT_ERROR };
  if (err instanceof ApiError)
    return { line: errorLine(err.message, hintFor(err.status, err.path)), exitCode: EXIT_ERROR };
  if (err instanceof CommanderError)
    return { line: errorLine(err.message.replace(/^error:\s*/i, '')), exitCode: EXIT_USAGE };
  const hinted = err as { message?: unknown; hint?: unknown; exitCode?: unknown };
  const message = typeof hinted?.message === 'string' ? hinted.message : String(err);
  const hint = typeof hinted?.hint === 'string' ? hinted.hint : undefined;
  const exitCode = typeof hinted?.exitCode === 'number' ? hinted.exitCode : EXIT_ERROR;
  return { line: errorLine(message, hint), exitCode };
}

/** What to do next for a server error, so every error line can end in "— try …". */
export function hintFor(status: number, path: string): string | undefined {
  if (status === 403 && /^auth\/[^/]+\/login$/.test(path))
    return 'checking the role and credentials you passed to login';
  if (status === 400 && /^sys\/(auth|mounts\/auth)(\/|$)/.test(path))
    return "'strongroom auth list' to see the enabled auth methods and their paths";
  if (status === 403) return "'strongroom login', or check that your token's policies grant this path";
  // Auth methods are mounts now: a login at a path where none is enabled is the common first mistake.
  if (status === 404 && /^auth\/.+\/login$/.test(path))
    return "'strongroom auth list' to see where auth methods are mounted (--path=MOUNT), or 'strongroom auth enable TYPE'";
  if (status === 404)
    return path.includes('/metadata/') || path.includes('/data/')
      ? "'strongroom kv list' to see which secrets exist"
      : 'checking the path';
  if (status === 503) return "'strongroom status'; a sealed store needs 'strongroom operator unseal'";
  if (status === 429) return 'again in a few seconds';
  if (status === 412 || status === 409) return 'reading the current state first (check-and-set mismatch or conflict)';
  if (status >= 500) return 'again; if it persists, look at the server log for the request id';
  return undefined;
}

/** Prints the error line and sets the exit code; used by every command action. */
export function reportError(err: unknown): void {
  const { line, exitCode } = describeError(err);
  process.stderr.write(`${line}\n`);
  process.exitCode = exitCode;
}
