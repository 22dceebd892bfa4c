import type { Mount } from '../mounts/types.js';

/**
 * Vault KV version 2 semantics, plus rollback and diff. All times are epoch milliseconds here; the HTTP layer
 * renders RFC 3339 strings as Vault does (deletion_time '' when not deleted).
 * `path` is relative to the mount ('app/db'), already validated by validateSecretPath.
 */
export type SecretData = Record<string, unknown>;

export interface VersionInfo {
  version: number;
  createdTime: number;
  /**
   * 0 when not deleted. As in Vault, a version written under a mount/secret `delete_version_after` carries its
   * scheduled deletion time from the start (possibly in the future); it reads as deleted once that time passes.
   */
  deletionTime: number;
  destroyed: boolean;
  customMetadata: Record<string, string> | null;
}

export interface SecretMetadata {
  casRequired: boolean;
  createdTime: number;
  currentVersion: number;
  customMetadata: Record<string, string> | null;
  /** Milliseconds; 0 = never. */
  deleteVersionAfter: number;
  /** 0 = use the mount's setting. */
  maxVersions: number;
  oldestVersion: number;
  updatedTime: number;
  versions: Record<number, Omit<VersionInfo, 'version' | 'customMetadata'>>;
}

export interface KvMountConfig {
  /** 0 = Vault's default of 10. */
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfter: number;
}

export interface ReadResult {
  data: SecretData;
  metadata: VersionInfo;
  /**
   * Which stored record this is: a digest of its ciphertext (unique per write: a fresh nonce each time, and a
   * rewrap makes a new one). Equal digests mean equal data; the audit redactor keys remembered HMACs by it.
   */
  recordDigest: string;
  /**
   * The commits this answer rests on (SQLite with a commit barrier: Storage.commitHorizon), for the reply to wait for
   * before it goes out; absent: every commit made so far.
   */
  durableAfter?: number;
}

export interface DiffResult {
  from: number;
  to: number;
  added: string[];
  removed: string[];
  changed: string[];
  /** Only with showValues: key → { from?, to? } for every added/removed/changed key. */
  values?: Record<string, { from?: unknown; to?: unknown }>;
}

/**
 * Errors (StrongroomError kinds):
 * - 'invalid': bad path or data, data too large, cas missing when required, cas mismatch (details.currentVersion)
 *   — Vault answers a CAS mismatch with 400, so it is 'invalid' with details.reason = 'cas_mismatch';
 * - 'not_found': no such secret or version; for a deleted or destroyed version details.metadata holds its VersionInfo
 *   (Vault answers 404 with the metadata in that case).
 */
export interface KvService {
  readConfig(mount: Mount): Promise<KvMountConfig>;
  writeConfig(mount: Mount, config: Partial<KvMountConfig>): Promise<void>;

  write(mount: Mount, path: string, data: SecretData, options?: { cas?: number }): Promise<VersionInfo>;
  /** JSON merge patch (RFC 7386) of the latest version into a new version; 404 when there is no live latest. */
  patch(mount: Mount, path: string, data: SecretData, options?: { cas?: number }): Promise<VersionInfo>;
  /** Latest when version is undefined or 0. */
  read(mount: Mount, path: string, version?: number): Promise<ReadResult>;

  deleteLatest(mount: Mount, path: string): Promise<void>;
  deleteVersions(mount: Mount, path: string, versions: number[]): Promise<void>;
  undeleteVersions(mount: Mount, path: string, versions: number[]): Promise<void>;
  /** Irreversible: the ciphertext is erased. */
  destroyVersions(mount: Mount, path: string, versions: number[]): Promise<void>;

  readMetadata(mount: Mount, path: string): Promise<SecretMetadata>;
  /** Whether a secret (its metadata) exists at `path`: the existence check that tells a create from an update. */
  exists(mount: Mount, path: string): Promise<boolean>;
  /** Creates the metadata entry when absent (as Vault does). */
  writeMetadata(
    mount: Mount,
    path: string,
    input: Partial<Pick<SecretMetadata, 'maxVersions' | 'casRequired' | 'deleteVersionAfter' | 'customMetadata'>>,
  ): Promise<void>;
  /**
   * Vault's PATCH on metadata: a JSON merge patch. Absent fields keep their value; custom_metadata merges key by
   * key and a null value removes that key. 404 when the secret has no metadata.
   */
  patchMetadata(
    mount: Mount,
    path: string,
    input: Partial<Pick<SecretMetadata, 'maxVersions' | 'casRequired' | 'deleteVersionAfter'>> & {
      customMetadata?: Record<string, string | null> | null;
    },
  ): Promise<void>;
  /** Every version and the metadata, gone. */
  deleteMetadata(mount: Mount, path: string): Promise<void>;

  /** Keys directly under `prefix` ('' or ending in '/'); folders end in '/'. Sorted. 404 when empty. */
  list(mount: Mount, prefix: string): Promise<string[]>;
  /** The key structure of a version with every leaf replaced by null, down to `depth` (0 = unlimited). */
  subkeys(
    mount: Mount,
    path: string,
    options?: { version?: number; depth?: number },
  ): Promise<{ subkeys: Record<string, unknown>; metadata: VersionInfo }>;

  /** Writes a new version whose data is a copy of `version` (which must be live). Honors cas. */
  rollback(mount: Mount, path: string, version: number, options?: { cas?: number }): Promise<VersionInfo>;
  diff(mount: Mount, path: string, from: number, to: number, options?: { showValues?: boolean }): Promise<DiffResult>;

  /**
   * KV version 1 (a mount whose options.version is "1"): one value per path, no history. Stored as the secret's
   * version 1, rewritten in place, so upgrading the mount to v2 turns each value into version 1 of its secret.
   * Refused ('invalid', reason 'kv_version') on a v2 mount, as the v2 methods are on a v1 mount.
   */
  readUnversioned(mount: Mount, path: string): Promise<SecretData>;
  /** Replaces the whole value (Vault v1 does not merge). */
  writeUnversioned(mount: Mount, path: string, data: SecretData): Promise<void>;
  /** Removes the value for good; nothing there is not an error. */
  deleteUnversioned(mount: Mount, path: string): Promise<void>;

  /** Removes every record of a mount (called when the mount is disabled). */
  purgeMount(mount: Mount): Promise<void>;
}

export interface KvLimits {
  /** Serialized JSON size limit for one version's data; default 1 MiB. */
  maxDataBytes: number;
}
