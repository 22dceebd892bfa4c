import type { Mount } from '../mounts/types.js';
import { invalid } from '../shared/errors.js';
import { decodeBackup, encodeBackup } from './backup.js';
import { checkMaterial, keyTypeInfo } from './key-types.js';
import type { KeyRow, TransitRepository, VersionRow } from './repository.js';
import { validateKeyName } from './names.js';
import type { TransitKey, TransitService } from './types.js';

/** What backup and restore need from the service: its key lookup, material cache and barrier sealing. */
export interface BackupDeps {
  repository: TransitRepository;
  requireKey(mount: Mount, name: string): Promise<KeyRow>;
  materialOf(row: KeyRow, version: number): Promise<Buffer>;
  sealMaterial(
    mountUuid: string,
    name: string,
    version: number,
    type: string,
    key: Buffer,
  ): { sealed: Buffer; term: number; publicKey: string | null };
  dropCached(mountUuid: string, name?: string): void;
  toKey(row: KeyRow): Promise<TransitKey>;
  assertUnsealed(): void;
  now(): number;
}

/**
 * `backup/<name>` and `restore[/<name>]`: plaintext key material in and out (format in backup.ts), allowed only for
 * keys that are exportable and allow plaintext backup, as Vault. Restored material is checked against its type and
 * sealed by the barrier like freshly generated material.
 */
export function createBackupOperations(deps: BackupDeps): Pick<TransitService, 'backupKey' | 'restoreKey'> {
  const { repository, requireKey, materialOf, sealMaterial, dropCached, toKey, assertUnsealed, now } = deps;
  return {
    async backupKey(mount, name) {
      const row = await requireKey(mount, name);
      // Vault's texts, which clients match (Vault answers them with 500; a refusal is the caller's to fix, so 400).
      if (row.exportable !== 1) throw invalid('exporting is disallowed on the policy');
      if (row.allow_plaintext_backup !== 1) throw invalid('plaintext backup is disallowed on the policy');
      const versions: Array<{ version: number; created_at: number; material: string }> = [];
      for (const info of await repository.versionInfo(mount.uuid, name)) {
        versions.push({
          version: info.version,
          created_at: Number(info.created_at),
          material: (await materialOf(row, info.version)).toString('base64'),
        });
      }
      return encodeBackup({
        name: row.name,
        type: row.type,
        derived: row.derived === 1,
        convergent: row.convergent === 1,
        exportable: row.exportable === 1,
        allow_plaintext_backup: true,
        deletion_allowed: row.deletion_allowed === 1,
        min_decryption_version: row.min_decryption_version,
        min_encryption_version: row.min_encryption_version,
        min_available_version: row.min_available_version,
        key_size: row.key_size,
        auto_rotate_period: Number(row.auto_rotate_period),
        latest_version: row.latest_version,
        created_at: Number(row.created_at),
        versions,
      });
    },

    async restoreKey(mount, backup, options) {
      const body = decodeBackup(backup);
      const name = options?.name && options.name !== '' ? options.name : body.name;
      validateKeyName(name);
      keyTypeInfo(body.type);
      if (body.allow_plaintext_backup !== true)
        throw invalid('invalid backup: the key does not allow plaintext backup');
      const counts = [
        body.latest_version,
        body.min_decryption_version,
        body.min_encryption_version,
        body.min_available_version,
        body.key_size,
        body.auto_rotate_period,
      ];
      if (!counts.every((n) => Number.isSafeInteger(n) && n >= 0) || body.latest_version < 1)
        throw invalid('invalid backup: bad version fields');
      assertUnsealed();
      const at = now();
      const row: KeyRow = {
        mount_uuid: mount.uuid,
        name,
        type: body.type,
        latest_version: body.latest_version,
        min_decryption_version: body.min_decryption_version,
        min_encryption_version: body.min_encryption_version,
        deletion_allowed: body.deletion_allowed ? 1 : 0,
        derived: body.derived ? 1 : 0,
        convergent: body.convergent ? 1 : 0,
        exportable: body.exportable ? 1 : 0,
        allow_plaintext_backup: 1,
        min_available_version: body.min_available_version,
        key_size: body.key_size,
        auto_rotate_period: body.auto_rotate_period,
        // A fresh incarnation: cached material of a key previously under this name is never reused.
        created_at: at,
        updated_at: at,
      };
      const versions: VersionRow[] = body.versions.map((v) => {
        if (
          !Number.isInteger(v.version) ||
          v.version < 1 ||
          v.version > body.latest_version ||
          typeof v.material !== 'string'
        ) {
          throw invalid('invalid backup: bad key version entry');
        }
        if (!Number.isSafeInteger(v.created_at)) throw invalid('invalid backup: bad key version entry');
        const material = Buffer.from(v.material, 'base64');
        checkMaterial(body.type, material);
        const { sealed, term, publicKey } = sealMaterial(mount.uuid, name, v.version, body.type, material);
        return {
          mount_uuid: mount.uuid,
          name,
          version: v.version,
          sealed_key: sealed,
          term,
          encryptions: 0,
          created_at: v.created_at,
          public_key: publicKey,
        };
      });
      if (!versions.some((v) => v.version === body.latest_version))
        throw invalid('invalid backup: the latest version is missing');
      if (!(await repository.restoreKey(row, versions, options?.force === true))) {
        throw invalid(`key "${name}" already exists; set force to overwrite it`);
      }
      dropCached(mount.uuid, name);
      return toKey(row);
    },
  };
}
