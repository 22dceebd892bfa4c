import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { invalid } from '../shared/errors.js';

/**
 * The options of a file audit device, as Vault documents them for its `file` device
 * (https://developer.hashicorp.com/vault/docs/audit/file), checked in full before anything on disk is touched:
 *
 *   file_path             required; an absolute path, or "stdout" / "discard" (Vault's keywords). `{node}` is replaced
 *                         by the server's node name, so processes sharing a database each write their own file.
 *   mode                  octal permissions for a file the device creates (default "0600"); "0000" keeps the default
 *                         and, as everywhere here, an existing file's mode is never changed. No executable bits.
 *   format                "json" only (jsonx is refused: our entries are verified line by line as canonical JSON)
 *   prefix                "" only (a prefixed line would no longer be a verifiable chain record)
 *   log_raw               false only (entries are always HMAC'd; true would write secrets in clear)
 *   hmac_accessor         true only (accessors are always HMAC'd)
 *   elide_list_responses  honoured: a list response's keys are replaced by their count
 *
 * Anything else is refused by name. A file device enabled through sys/audit must write inside one of the
 * directories the server's configuration names (`audit_file_dirs`): an API caller with sudo on sys/audit must not be
 * able to make the server create, append to, or lock arbitrary files.
 */
export type FileTarget = { kind: 'file'; path: string } | { kind: 'stdout' } | { kind: 'discard' };

export interface FileDeviceSpec {
  target: FileTarget;
  /** Mode bits for a file the device creates; 0 means the default (0600). */
  mode: number;
  elideListResponses: boolean;
}

export const NODE_PLACEHOLDER = '{node}';

const KNOWN = new Set(['file_path', 'mode', 'format', 'prefix', 'log_raw', 'hmac_accessor', 'elide_list_responses']);
/** Vault options we know and do not offer, with the reason given to the caller. */
const NOT_OFFERED: Record<string, string> = {
  fallback: 'fallback devices (a Vault Enterprise filtering feature) are not supported',
  filter: 'audit filters (a Vault Enterprise feature) are not supported: every request is written to every device',
  exclude: 'excluding fields (a Vault Enterprise feature) is not supported',
};

export interface FileOptionContext {
  /** Replaces `{node}` in file_path. */
  nodeName: string;
  /** Directories the file must be inside; null when the path comes from the server's own configuration. */
  allowedDirs: readonly string[] | null;
}

/** Validates every option and works out the target; touches nothing (see `confirmInsideAllowedDirs`). */
export function parseFileDeviceOptions(options: Record<string, string>, context: FileOptionContext): FileDeviceSpec {
  for (const key of Object.keys(options)) {
    if (NOT_OFFERED[key]) throw invalid(`option "${key}": ${NOT_OFFERED[key]}`);
    if (!KNOWN.has(key))
      throw invalid(`unsupported option "${key}" for a file audit device (supported: ${[...KNOWN].join(', ')})`);
  }
  const mode = parseMode(options.mode);
  if (options.format !== undefined && options.format !== 'json') {
    throw invalid(`option "format": only "json" is supported (got "${options.format}")`);
  }
  if (options.prefix !== undefined && options.prefix !== '') {
    throw invalid('option "prefix" is not supported: a prefixed line would no longer be a verifiable audit record');
  }
  if (parseBool(options, 'log_raw', false))
    throw invalid('option "log_raw": true is refused: audit entries never hold secrets in clear');
  if (!parseBool(options, 'hmac_accessor', true))
    throw invalid('option "hmac_accessor": false is refused: token accessors are always HMAC\'d');
  const elideListResponses = parseBool(options, 'elide_list_responses', false);

  const raw = options.file_path;
  if (raw === undefined || raw === '') throw invalid('a file audit device needs the option file_path');
  if (raw === 'stdout' || raw === 'discard') return { target: { kind: raw }, mode, elideListResponses };
  if (!isAbsolute(raw)) throw invalid('option "file_path" must be an absolute path, "stdout" or "discard"');
  const expanded = raw.split(NODE_PLACEHOLDER).join(context.nodeName);
  if (expanded.includes('\0')) throw invalid('option "file_path" holds a NUL character');
  const path = normalize(expanded);
  if (context.allowedDirs !== null && !context.allowedDirs.some((dir) => isInside(path, dir))) {
    throw outsideAllowed(raw, context.allowedDirs);
  }
  if (path.endsWith(sep)) throw invalid('option "file_path" must name a file, not a directory');
  return { target: { kind: 'file', path }, mode, elideListResponses };
}

/**
 * The same confinement once symbolic links are resolved: the deepest existing ancestor of the file's directory must
 * lie inside (the real path of) an allowed directory. Reads the file system, changes nothing.
 */
export async function confirmInsideAllowedDirs(path: string, allowedDirs: readonly string[]): Promise<void> {
  const realDir = await realPathOf(dirname(path));
  for (const dir of allowedDirs) {
    const realAllowed = await realPathOf(dir);
    if (realDir === realAllowed || isInside(realDir, realAllowed)) return;
  }
  throw outsideAllowed(path, allowedDirs);
}

function outsideAllowed(path: string, allowedDirs: readonly string[]) {
  return invalid(
    allowedDirs.length === 0
      ? `file_path ${path}: file audit devices through sys/audit are disabled (no audit_file_dirs configured)`
      : `file_path ${path} is outside the audit directories configured by audit_file_dirs (${allowedDirs.join(', ')})`,
  );
}

/** True when `path` is strictly below `dir` (both absolute and normalized). */
function isInside(path: string, dir: string): boolean {
  const base = resolve(dir);
  return path.startsWith(base.endsWith(sep) ? base : base + sep);
}

/** The real path of the deepest existing ancestor, joined with the part below it that does not exist (yet). */
async function realPathOf(path: string): Promise<string> {
  let current = resolve(path);
  const missing: string[] = [];
  for (;;) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch (err) {
      const parent = dirname(current);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw err;
      missing.push(basename(current));
      current = parent;
    }
  }
}

function parseMode(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^0?[0-7]{3}$/.test(raw)) throw invalid('option "mode" must be octal permission bits, e.g. "0600"');
  const mode = parseInt(raw, 8);
  if (mode & 0o111) throw invalid(`option "mode": ${raw} has executable bits; an audit file never needs them`);
  if (mode !== 0 && (mode & 0o600) !== 0o600)
    throw invalid(`option "mode": ${raw} must let the owner read and write the file`);
  return mode;
}

/** Vault parses these with Go's strconv.ParseBool. */
function parseBool(options: Record<string, string>, key: string, fallback: boolean): boolean {
  const raw = options[key];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw invalid(`option "${key}" must be true or false`);
}
