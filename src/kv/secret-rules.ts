import { encodeContext } from '../crypto/context.js';
import type { Mount } from '../mounts/types.js';
import { invalid } from '../shared/errors.js';
import { kvVersionOf, type KvVersion } from './mount-version.js';
import { jsonEqual, setOwn } from './json.js';
import type { KvConfigTable, SecretRow } from './repository.js';
import type { DiffResult, SecretData, VersionInfo } from './types.js';
import { checkBoolean, checkNonNegativeInteger, checkVersionNumber } from './validation.js';

// Vault's rules for KV secrets, as pure functions over rows: the context a version is sealed under, deletion times,
// check-and-set, the v1/v2 guard, metadata fields and diffs.

/** The associated data a version's ciphertext is bound to: moving it to another mount, path or version breaks it. */
export function kvContext(mountUuid: string, path: string, version: number): Buffer {
  return encodeContext('kv', mountUuid, path, version);
}

interface VersionRowLike {
  version: number;
  created_time: number;
  deletion_time: number;
  destroyed: number;
}

export function parseCustomMetadata(raw: string | null): Record<string, string> | null {
  return raw === null ? null : (JSON.parse(raw) as Record<string, string>);
}

export function toVersionInfo(row: VersionRowLike, customMetadata: Record<string, string> | null): VersionInfo {
  return {
    version: row.version,
    createdTime: row.created_time,
    deletionTime: row.deletion_time,
    destroyed: row.destroyed === 1,
    customMetadata,
  };
}

export function isDeleted(row: { deletion_time: number }, now: number): boolean {
  return row.deletion_time !== 0 && row.deletion_time <= now;
}

/** Vault: the smaller non-zero of the mount's and the secret's delete_version_after. */
export function effectiveDeleteAfter(mount: number, secret: number): number {
  if (mount === 0) return secret;
  if (secret === 0) return mount;
  return Math.min(mount, secret);
}

/** A kv mount speaking `version` of the API ('any' for what both share, such as list). */
export function requireKvMount(mount: Mount, version: KvVersion | 'any' = 2): void {
  if (mount.type !== 'kv') throw invalid(`mount ${mount.path} is not a kv mount`, { reason: 'wrong_mount_type' });
  if (version !== 'any' && kvVersionOf(mount) !== version) {
    throw invalid(`mount ${mount.path} is KV version ${kvVersionOf(mount)}; this operation is for version ${version}`, {
      reason: 'kv_version',
    });
  }
}

/** The one version a KV v1 value is stored as. */
export const UNVERSIONED = 1;

/**
 * A secret past version 1 was written through the v2 API: its mount has been upgraded, and this process (a replica
 * whose mount table is seconds old) still routes it as v1. Overwriting version 1 or deleting the secret would
 * destroy v2 history, so the v1 call is refused; the caller retries and reaches the v2 API.
 */
export function refuseVersionedHistory(secret: SecretRow): void {
  if (secret.current_version > UNVERSIONED) {
    throw invalid('this mount has been upgraded to KV version 2; retry the request', { reason: 'kv_version' });
  }
}

export function casOption(options: { cas?: number } | undefined): number | undefined {
  const cas = options?.cas;
  return cas === undefined ? undefined : checkVersionNumber(cas, 'cas', true);
}

/** Vault's check-and-set rules; a mismatch names the current version so the caller can re-read and retry. */
export function checkCas(config: KvConfigTable, secret: SecretRow, cas: number | undefined): void {
  if (cas !== undefined) {
    if (cas !== secret.current_version) {
      throw invalid('check-and-set parameter did not match the current version', {
        reason: 'cas_mismatch',
        currentVersion: secret.current_version,
      });
    }
  } else if (config.cas_required === 1 || secret.cas_required === 1) {
    throw invalid('check-and-set parameter required for this call', { reason: 'cas_required' });
  }
}

export function defaultConfig(mountUuid: string): KvConfigTable {
  return { mount_uuid: mountUuid, max_versions: 0, cas_required: 0, delete_version_after: 0 };
}

export function metadataFields(input: { maxVersions?: number; casRequired?: boolean; deleteVersionAfter?: number }) {
  const fields: { max_versions?: number; cas_required?: number; delete_version_after?: number } = {};
  if (input.maxVersions !== undefined) fields.max_versions = checkNonNegativeInteger(input.maxVersions, 'max_versions');
  if (input.casRequired !== undefined) fields.cas_required = checkBoolean(input.casRequired, 'cas_required') ? 1 : 0;
  if (input.deleteVersionAfter !== undefined) {
    fields.delete_version_after = checkNonNegativeInteger(input.deleteVersionAfter, 'delete_version_after');
  }
  return fields;
}

/** Top-level keys compared by deep equality; values only when asked for. */
export function diffData(from: number, a: SecretData, to: number, b: SecretData, showValues: boolean): DiffResult {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const key of Object.keys(b)) {
    if (!Object.hasOwn(a, key)) added.push(key);
    else if (!jsonEqual(a[key], b[key])) changed.push(key);
  }
  for (const key of Object.keys(a)) if (!Object.hasOwn(b, key)) removed.push(key);
  const result: DiffResult = { from, to, added: added.sort(), removed: removed.sort(), changed: changed.sort() };
  if (showValues) {
    const values: NonNullable<DiffResult['values']> = {};
    for (const key of added) setOwn(values, key, { to: b[key] });
    for (const key of removed) setOwn(values, key, { from: a[key] });
    for (const key of changed) setOwn(values, key, { from: a[key], to: b[key] });
    result.values = values;
  }
  return result;
}
