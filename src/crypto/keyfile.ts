import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrongroomError } from '../shared/errors.js';
import { createFileWithContent } from '../shared/files.js';
import { KEY_BYTES } from './aead.js';

/**
 * The key-file seal: a 32-byte unseal key in a file readable only by its owner. Stored as one base64 line so it
 * fits a Kubernetes Secret or an env-file; raw 32-byte files are accepted too.
 */
export const KEY_FILE_WARNING =
  'the root key is sealed with a key file: anyone who can read that file and the database can decrypt every secret. ' +
  'Keep the key file off the data volume, or use Shamir shares or auto-unseal in production.';

/**
 * How a key-file store comes back after a seal through the API; part of every refusal of an unseal key. `keyFile`:
 * the file's path when the teller may name it (a dev server's own 503s), a placeholder otherwise.
 */
export function keyFileUnsealHelp(keyFile = '<data dir>/dev-unseal.key'): string {
  return (
    "this store is sealed with a key file: unseal it with that file's contents " +
    `('strongroom operator unseal --key-file=${keyFile}', or PUT sys/unseal {"key": "<the file's base64 line>"}), ` +
    'or restart the server, which unseals itself from the key file in its data directory'
  );
}

export const KEY_FILE_UNSEAL_HELP = keyFileUnsealHelp();

function invalid(message: string): StrongroomError {
  return new StrongroomError('invalid', message);
}

/** Reads a key file after checking it is a regular file that neither group nor others can read. */
export async function readKeyFile(path: string): Promise<Buffer> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw invalid(`key file ${path} does not exist`);
    throw invalid(`key file ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!info.isFile()) throw invalid(`key file ${path} is not a regular file`);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw invalid(`key file ${path} is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`);
  }
  const content = await readFile(path);
  try {
    return decodeKey(content, path);
  } finally {
    content.fill(0);
  }
}

function decodeKey(content: Buffer, path: string): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  if (content.length === KEY_BYTES) {
    content.copy(key);
    return key;
  }
  const text = content.toString('latin1').trim();
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    const decoded = Buffer.from(text, 'base64');
    decoded.copy(key);
    decoded.fill(0);
    return key;
  }
  throw invalid(`key file ${path} does not hold a 256-bit key (expected 32 bytes or one base64 line)`);
}

/**
 * A key given over the API (sys/unseal `key`): the key file's base64 line, or the same 32 bytes in hex (Vault takes
 * unseal keys in either). Undefined when it is neither; the caller wipes the key.
 */
export function decodeKeyFileContents(text: string): Buffer | undefined {
  const trimmed = text.trim();
  let decoded: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) decoded = Buffer.from(trimmed, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) decoded = Buffer.from(trimmed, 'base64');
  else return undefined;
  const key = Buffer.alloc(KEY_BYTES);
  decoded.copy(key);
  decoded.fill(0);
  return key;
}

/**
 * Creates a new key file with mode 0600, failing if anything already exists at `path` (never overwrites).
 * Returns the key; the caller wipes it.
 */
export async function createKeyFile(path: string): Promise<Buffer> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = Buffer.alloc(KEY_BYTES);
  randomBytes(KEY_BYTES).copy(key);
  const line = Buffer.from(`${key.toString('base64')}\n`, 'latin1');
  try {
    // The file appears whole or not at all (a kill mid-write never leaves an empty key file that would keep the
    // next start from initializing), never over an existing one (two racing inits cannot both believe they wrote
    // it), and its directory entry is synced: the store is initialized only after the key file is durable.
    await createFileWithContent(path, line, 0o600, { syncDirectory: true });
  } catch (err) {
    key.fill(0);
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw invalid(`key file ${path} already exists`);
    throw invalid(`key file ${path} cannot be created: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    line.fill(0);
  }
  return key;
}

export async function removeKeyFile(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

export async function keyFileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
