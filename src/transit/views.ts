import type { TransitKey } from './types.js';

/** A key as Vault's keys/<name> read shows it. */
/** `contextKeys`: a derived key's public keys for one context (a key read with `context`), shown per version. */
export function keyView(key: TransitKey, contextKeys?: Readonly<Record<number, string>>): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  const signing = Object.keys(key.publicKeys).length > 0;
  for (const [version, createdAt] of Object.entries(key.versions)) {
    // Vault: symmetric versions map to their creation time in Unix seconds, asymmetric ones to their public key.
    keys[version] = signing
      ? {
          name: curveName(key.type),
          // A derived key has a key pair per context: its root's public key verifies nothing, so none is shown.
          public_key: key.derived ? (contextKeys?.[Number(version)] ?? '') : (key.publicKeys[Number(version)] ?? ''),
          creation_time: new Date(createdAt).toISOString(),
        }
      : Math.floor(createdAt / 1000);
  }
  const aead = ['aes128-gcm96', 'aes256-gcm96', 'chacha20-poly1305'].includes(key.type);
  const asymmetric = !aead && key.type !== 'hmac';
  return {
    name: key.name,
    type: key.type,
    keys,
    latest_version: key.latestVersion,
    min_available_version: key.minAvailableVersion,
    min_decryption_version: key.minDecryptionVersion,
    min_encryption_version: key.minEncryptionVersion,
    deletion_allowed: key.deletionAllowed,
    exportable: key.exportable,
    allow_plaintext_backup: key.allowPlaintextBackup,
    derived: key.derived,
    convergent_encryption: key.convergent,
    ...(key.derived ? { kdf: 'hkdf_sha256', convergent_encryption_version: key.convergent ? 3 : -1 } : {}),
    ...(key.type === 'hmac' ? { key_size: key.keySize } : {}),
    imported_key: false,
    auto_rotate_period: Math.floor(key.autoRotatePeriod / 1000),
    supports_encryption: aead,
    supports_decryption: aead,
    supports_derivation: aead || key.type === 'ed25519',
    supports_signing: asymmetric,
  };
}

function curveName(type: string): string {
  return (
    ({ 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' } as Record<string, string>)[type] ?? type
  );
}
