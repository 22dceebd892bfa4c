import type { Barrier } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { notFound } from '../shared/errors.js';
import type { KvConfigTable, KvQueries, KvSyncQueries, KvVersionsTable, SecretRow } from './repository.js';
import { effectiveDeleteAfter, isDeleted, kvContext, parseCustomMetadata, toVersionInfo } from './secret-rules.js';
import type { SecretData, VersionInfo } from './types.js';
import { parseData } from './validation.js';

/** Vault keeps 10 versions when neither the mount nor the secret says otherwise. */
export const DEFAULT_MAX_VERSIONS = 10;

/**
 * A secret's versions at rest, inside the caller's transaction: sealed by the barrier under their place
 * (kvContext), opened again, pruned past max_versions.
 */
export function createVersionStore(deps: {
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'termOf'>;
  clock: () => number;
}) {
  const { barrier, clock } = deps;

  async function lockOrCreate(q: KvQueries, mount: Mount, path: string): Promise<SecretRow> {
    const existing = await q.lockSecret(mount.uuid, path);
    if (existing) return existing;
    await q.ensureSecret(mount.uuid, path, clock());
    const created = await q.lockSecret(mount.uuid, path);
    if (!created) throw new Error('kv: secret row vanished right after it was created');
    return created;
  }

  async function open(ciphertext: Buffer | null, mount: Mount, path: string, version: number): Promise<SecretData> {
    if (ciphertext === null) throw notFound(`version ${version} of this secret has been destroyed`);
    const context = kvContext(mount.uuid, path, version);
    // With replicas, another process may have rotated and written under a term this one has not loaded yet.
    const plaintext = await barrier.decryptWithRefresh(ciphertext, context);
    try {
      return parseData(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }

  /**
   * The next version of `secret`: `plaintext` sealed under its place, the versions to prune past max_versions, and
   * the secret row's new counters. Pure but for the clock and the nonce; the callers apply it with their engine's
   * statements (`appendVersion`, `appendVersionNow`).
   */
  function nextVersion(mount: Mount, path: string, secret: SecretRow, config: KvConfigTable, plaintext: Buffer) {
    const version = secret.current_version + 1;
    const now = clock();
    const deleteAfter = effectiveDeleteAfter(config.delete_version_after, secret.delete_version_after);
    const deletionTime = deleteAfter > 0 ? now + deleteAfter : 0;
    const ciphertext = barrier.encrypt(plaintext, kvContext(mount.uuid, path, version));
    plaintext.fill(0);
    const row: KvVersionsTable = {
      secret_id: secret.id,
      version,
      created_time: now,
      deletion_time: deletionTime,
      destroyed: 0,
      ciphertext,
      term: barrier.termOf(ciphertext),
    };
    // Vault's sliding window: the secret's own max_versions wins over the mount's, which defaults to 10.
    const maxVersions = secret.max_versions || config.max_versions || DEFAULT_MAX_VERSIONS;
    const pruneUpTo = version - secret.oldest_version >= maxVersions ? version - maxVersions : null;
    const counters = {
      current_version: version,
      oldest_version: pruneUpTo === null ? secret.oldest_version : pruneUpTo + 1,
      updated_time: now,
    };
    const info: VersionInfo = {
      version,
      createdTime: now,
      deletionTime,
      destroyed: false,
      customMetadata: parseCustomMetadata(secret.custom_metadata),
    };
    return { row, pruneUpTo, counters, info };
  }

  /** Seals `plaintext` as the next version, prunes past max_versions, and moves current_version forward. */
  async function appendVersion(
    q: KvQueries,
    mount: Mount,
    path: string,
    secret: SecretRow,
    config: KvConfigTable,
    plaintext: Buffer,
  ): Promise<VersionInfo> {
    const next = nextVersion(mount, path, secret, config, plaintext);
    await q.insertVersion(next.row);
    if (next.pruneUpTo !== null) await q.deleteVersionsUpTo(secret.id, next.pruneUpTo);
    await q.updateSecret(secret.id, next.counters);
    return next.info;
  }

  /** `appendVersion` inside a batched write (SQLite): the same steps, run synchronously. */
  function appendVersionNow(
    q: KvSyncQueries,
    mount: Mount,
    path: string,
    secret: SecretRow,
    config: KvConfigTable,
    plaintext: Buffer,
  ): VersionInfo {
    const next = nextVersion(mount, path, secret, config, plaintext);
    q.insertVersion(next.row);
    if (next.pruneUpTo !== null) q.deleteVersionsUpTo(secret.id, next.pruneUpTo);
    q.advanceSecret(secret.id, next.counters);
    return next.info;
  }

  /** `lockOrCreate` inside a batched write (SQLite). */
  function lockOrCreateNow(q: KvSyncQueries, mount: Mount, path: string): SecretRow {
    const row = q.lockSecret(mount.uuid, path) ?? q.createSecret(mount.uuid, path, clock());
    if (!row) throw new Error('kv: secret row neither found nor created');
    return row;
  }

  /** The latest live version's data, or the Vault-shaped 404 (with metadata when the version is deleted/destroyed). */
  async function liveVersion(q: KvQueries, mount: Mount, path: string, secret: SecretRow, version: number) {
    const row = await q.getVersion(secret.id, version);
    if (!row) throw notFound(`version ${version} of this secret does not exist`);
    const metadata = toVersionInfo(row, parseCustomMetadata(secret.custom_metadata));
    if (row.destroyed === 1) throw notFound(`version ${version} of this secret has been destroyed`, { metadata });
    if (isDeleted(row, clock())) throw notFound(`version ${version} of this secret is deleted`, { metadata });
    return { row, metadata };
  }

  return { lockOrCreate, lockOrCreateNow, open, appendVersion, appendVersionNow, liveVersion };
}
