import { createHash, timingSafeEqual } from 'node:crypto';
import { invalid } from '../shared/errors.js';

/**
 * Strongroom's transit backup format (Vault's own is an internal structure, so ours is documented instead):
 *
 *   base64( JSON { "format": "strongroom-transit-backup", "version": 1, "sha256": hex, "body": string } )
 *
 * where `body` is the JSON text of {@link BackupBody} and `sha256` its SHA-256. The material inside is in clear: a
 * backup is plaintext key material, which is why it needs `allow_plaintext_backup`. The digest detects corruption
 * and truncation (not forgery: anyone holding a backup holds the key anyway); `version` lets the format evolve.
 */
export const BACKUP_FORMAT = 'strongroom-transit-backup';
export const BACKUP_VERSION = 1;

export interface BackupBody {
  name: string;
  type: string;
  derived: boolean;
  convergent: boolean;
  exportable: boolean;
  allow_plaintext_backup: boolean;
  deletion_allowed: boolean;
  min_decryption_version: number;
  min_encryption_version: number;
  min_available_version: number;
  key_size: number;
  auto_rotate_period: number;
  latest_version: number;
  created_at: number;
  versions: Array<{ version: number; created_at: number; material: string }>;
}

export function encodeBackup(body: BackupBody): string {
  const text = JSON.stringify(body);
  const sha256 = createHash('sha256').update(text).digest('hex');
  return Buffer.from(JSON.stringify({ format: BACKUP_FORMAT, version: BACKUP_VERSION, sha256, body: text })).toString(
    'base64',
  );
}

export function decodeBackup(encoded: unknown): BackupBody {
  if (typeof encoded !== 'string' || encoded === '') throw invalid('missing required field "backup"');
  let envelope: { format?: unknown; version?: unknown; sha256?: unknown; body?: unknown };
  try {
    envelope = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as typeof envelope;
  } catch {
    throw invalid('invalid backup: not a Strongroom transit backup');
  }
  if (envelope?.format !== BACKUP_FORMAT) throw invalid('invalid backup: not a Strongroom transit backup');
  if (envelope.version !== BACKUP_VERSION)
    throw invalid(`invalid backup: unsupported backup version ${String(envelope.version)}`);
  if (
    typeof envelope.body !== 'string' ||
    typeof envelope.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(envelope.sha256)
  ) {
    throw invalid('invalid backup: malformed envelope');
  }
  const actual = createHash('sha256').update(envelope.body).digest();
  if (!timingSafeEqual(actual, Buffer.from(envelope.sha256, 'hex')))
    throw invalid('invalid backup: integrity check failed');
  const body = JSON.parse(envelope.body) as BackupBody;
  if (
    typeof body.name !== 'string' ||
    typeof body.type !== 'string' ||
    !Array.isArray(body.versions) ||
    body.versions.length === 0
  ) {
    throw invalid('invalid backup: missing key fields');
  }
  return body;
}
