import type { Barrier } from '../crypto/types.js';
import type { Mount } from '../mounts/types.js';
import { notFound } from '../shared/errors.js';
import type { KvConfigTable, KvQueries, SecretRow } from './repository.js';
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

  /** Seals `plaintext` as the next version, prunes past max_versions, and moves current_version forward. */
  async function appendVersion(
    q: KvQueries,
    mount: Mount,
    path: string,
    secret: SecretRow,
    config: KvConfigTable,
    plaintext: Buffer,
  ): Promise<VersionInfo> {
    const version = secret.current_version + 1;
    const now = clock();
    const deleteAfter = effectiveDeleteAfter(config.delete_version_after, secret.delete_version_after);
    const deletionTime = deleteAfter > 0 ? now + deleteAfter : 0;
    const ciphertext = barrier.encrypt(plaintext, kvContext(mount.uuid, path, version));
    plaintext.fill(0);
    await q.insertVersion({
      secret_id: secret.id,
      version,
      created_time: now,
      deletion_time: deletionTime,
      destroyed: 0,
      ciphertext,
      term: barrier.termOf(ciphertext),
    });
    // Vault's sliding window: the secret's own max_versions wins over the mount's, which defaults to 10.
    const maxVersions = secret.max_versions || config.max_versions || DEFAULT_MAX_VERSIONS;
    let oldest = secret.oldest_version;
    if (version - oldest >= maxVersions) {
      const cut = version - maxVersions;
      await q.deleteVersionsUpTo(secret.id, cut);
      oldest = cut + 1;
    }
    await q.updateSecret(secret.id, { current_version: version, oldest_version: oldest, updated_time: now });
    return {
      version,
      createdTime: now,
      deletionTime,
      destroyed: false,
      customMetadata: parseCustomMetadata(secret.custom_metadata),
    };
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

  return { lockOrCreate, open, appendVersion, liveVersion };
}
