import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../shared/duration.js';
import { UsageError } from './errors.js';

export const DEFAULT_ADDRESS = 'http://127.0.0.1:8200';
/** Vault's CLI default (VAULT_CLIENT_TIMEOUT): long enough for a slow unseal or a big list, short of forever. */
export const DEFAULT_TIMEOUT_SECONDS = 60;

/** Flags every client command accepts (commander's camelCase names). */
export interface ConnectionFlags {
  address?: string;
  token?: string;
  caCert?: string;
  tlsSkipVerify?: boolean;
}

export interface Connection {
  address: string;
  /** '' when no token is configured (unauthenticated endpoints still work). */
  token: string;
  /** Where the token came from, for `status` and for error hints ("flag", "env STRONGROOM_TOKEN", "file ..."). */
  tokenSource: string;
  ca?: Buffer;
  tlsSkipVerify: boolean;
  /** Per request; STRONGROOM_CLIENT_TIMEOUT or VAULT_CLIENT_TIMEOUT ("90s", "2m", "120"), else 60 s. */
  timeoutSeconds: number;
  /** The variable that set it, for the timeout error's hint. */
  timeoutSource?: string;
}

type Env = Record<string, string | undefined>;

/** `HOME` is honoured first so tests and containers can point the CLI at their own token file. */
export function tokenFilePath(env: Env = process.env): string {
  return join(env.HOME || homedir(), '.strongroom', 'token');
}

function firstSet(env: Env, ...names: string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

/**
 * Resolution order, as the vault CLI: flag, then STRONGROOM_* env, then VAULT_* env, then the token file written by
 * `strongroom login`.
 */
export function resolveConnection(flags: ConnectionFlags, env: Env = process.env): Connection {
  const address = (flags.address ?? firstSet(env, 'STRONGROOM_ADDR', 'VAULT_ADDR')?.value ?? DEFAULT_ADDRESS).replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\/[^/]+/.test(address)) {
    throw new UsageError(
      `the address "${address}" is not an http:// or https:// URL`,
      '--address=https://strongroom.example:8200',
    );
  }
  let token = '';
  let tokenSource = 'none';
  const fromEnv = firstSet(env, 'STRONGROOM_TOKEN', 'VAULT_TOKEN');
  if (flags.token !== undefined) {
    token = flags.token;
    tokenSource = 'flag --token';
  } else if (fromEnv) {
    token = fromEnv.value;
    tokenSource = `env ${fromEnv.name}`;
  } else {
    const file = tokenFilePath(env);
    if (existsSync(file)) {
      token = readFileSync(file, 'utf8').trim();
      tokenSource = `file ${file}`;
    }
  }
  const ca = readCaCert(flags.caCert, env);
  const skipEnv = firstSet(env, 'STRONGROOM_SKIP_VERIFY', 'VAULT_SKIP_VERIFY')?.value;
  const tlsSkipVerify = flags.tlsSkipVerify === true || (skipEnv !== undefined && /^(1|true|yes)$/i.test(skipEnv));
  const timeout = clientTimeout(env);
  return { address, token, tokenSource, ...(ca ? { ca } : {}), tlsSkipVerify, ...timeout };
}

/**
 * The CA certificate(s) that sign the store's certificate, as Vault's `-ca-cert` / `VAULT_CACERT`: the flag, then
 * STRONGROOM_CACERT, then VAULT_CACERT. Used for the connections to the store only (never process-wide, as
 * NODE_EXTRA_CA_CERTS would be: that trusts the CA for the Kubernetes API and cloud providers too).
 */
export function readCaCert(flag: string | undefined, env: Env = process.env): Buffer | undefined {
  const caPath = flag ?? firstSet(env, 'STRONGROOM_CACERT', 'VAULT_CACERT')?.value;
  if (!caPath) return undefined;
  try {
    return readFileSync(caPath);
  } catch {
    throw new UsageError(
      `cannot read the CA certificate file ${caPath}`,
      'a PEM file path in --ca-cert or STRONGROOM_CACERT',
    );
  }
}

/** Vault's duration syntax, as VAULT_CLIENT_TIMEOUT takes it; a zero or unreadable value is a usage error. */
export function clientTimeout(env: Env = process.env): Pick<Connection, 'timeoutSeconds' | 'timeoutSource'> {
  const set = firstSet(env, 'STRONGROOM_CLIENT_TIMEOUT', 'VAULT_CLIENT_TIMEOUT');
  if (!set) return { timeoutSeconds: DEFAULT_TIMEOUT_SECONDS };
  let seconds: number;
  try {
    seconds = parseDuration(set.value.trim());
  } catch {
    seconds = 0;
  }
  if (seconds <= 0)
    throw new UsageError(
      `${set.name} is not a duration of at least one second`,
      `${set.name}=90s (or 2m, or a number of seconds)`,
    );
  return { timeoutSeconds: seconds, timeoutSource: set.name };
}

/**
 * Saves a token for later commands: directory 0700, file 0600, written to a temporary name and renamed so a
 * crash never leaves a half-written token, and chmod'ed explicitly because an existing directory keeps its mode.
 */
export function saveToken(token: string, env: Env = process.env): string {
  const file = tokenFilePath(env);
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

export function forgetToken(env: Env = process.env): boolean {
  const file = tokenFilePath(env);
  if (!existsSync(file)) return false;
  rmSync(file);
  return true;
}
