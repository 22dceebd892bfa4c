import type { Mount } from '../../mounts/types.js';
import { StrongroomError, invalid, isStrongroomError } from '../../shared/errors.js';
import { decodeBase64Field } from '../../transit/ciphertext.js';
import type { EncryptOptions, TransitKey, TransitService } from '../../transit/types.js';
import type { Backend, HandlerResult, RequestContext } from '../backend.js';
import { optBool, optNonNegativeInt, optString } from '../fields.js';

/**
 * Vault's transit engine, served for every mount of type 'transit'.
 * https://developer.hashicorp.com/vault/api-docs/secret/transit
 * Key material never leaves the store: there is no export or backup path, and `exportable` is always false.
 */
export function createTransitBackend(deps: { transit: TransitService }): Backend {
  const { transit } = deps;
  const mountOf = (ctx: RequestContext): Mount => {
    if (!ctx.mount) throw new StrongroomError('internal', 'transit backend reached without a mount');
    return ctx.mount;
  };
  const nameOf = (ctx: RequestContext): string => ctx.params.name ?? '';

  return {
    mountType: 'transit',
    paths: [
      {
        name: 'transit.keys.list',
        pattern: 'keys/?',
        operations: {
          list: async (ctx) => ({ data: { keys: await transit.listKeys(mountOf(ctx)) } }),
        },
      },
      {
        name: 'transit.keys',
        pattern: 'keys/(?<name>[^/]+)',
        operations: {
          read: async (ctx) => ({ data: keyView(await transit.readKey(mountOf(ctx), nameOf(ctx))) }),
          update: async (ctx) => {
            const type = optString(ctx.data, 'type');
            if (optBool(ctx.data, 'exportable') === true || optBool(ctx.data, 'allow_plaintext_backup') === true) {
              throw invalid('Strongroom never exports transit key material: exportable and allow_plaintext_backup must be false');
            }
            if (optBool(ctx.data, 'derived') === true) throw invalid('derived keys are not supported');
            const key = await transit.createKey(mountOf(ctx), nameOf(ctx), type ? { type } : undefined);
            return { data: keyView(key) };
          },
          delete: async (ctx) => {
            await transit.deleteKey(mountOf(ctx), nameOf(ctx));
          },
        },
      },
      {
        name: 'transit.keys.rotate',
        pattern: 'keys/(?<name>[^/]+)/rotate',
        operations: {
          update: async (ctx) => ({ data: keyView(await transit.rotateKey(mountOf(ctx), nameOf(ctx))) }),
        },
      },
      {
        name: 'transit.keys.config',
        pattern: 'keys/(?<name>[^/]+)/config',
        operations: {
          update: async (ctx) => {
            if (optBool(ctx.data, 'exportable') === true || optBool(ctx.data, 'allow_plaintext_backup') === true) {
              throw invalid('Strongroom never exports transit key material: exportable and allow_plaintext_backup cannot be enabled');
            }
            const minDecryptionVersion = optNonNegativeInt(ctx.data, 'min_decryption_version');
            const minEncryptionVersion = optNonNegativeInt(ctx.data, 'min_encryption_version');
            const deletionAllowed = optBool(ctx.data, 'deletion_allowed');
            const key = await transit.configureKey(mountOf(ctx), nameOf(ctx), {
              ...(minDecryptionVersion !== undefined ? { minDecryptionVersion } : {}),
              ...(minEncryptionVersion !== undefined ? { minEncryptionVersion } : {}),
              ...(deletionAllowed !== undefined ? { deletionAllowed } : {}),
            });
            return { data: keyView(key) };
          },
        },
      },
      {
        name: 'transit.encrypt',
        pattern: 'encrypt/(?<name>[^/]+)',
        // As in Vault, encrypting with a missing key creates it, which needs the 'create' capability.
        existenceCheck: async (ctx) => transit.keyExists(mountOf(ctx), nameOf(ctx)),
        operations: {
          create: async (ctx) => {
            await transit.createKey(mountOf(ctx), nameOf(ctx));
            return encrypt(ctx);
          },
          update: (ctx) => encrypt(ctx),
        },
      },
      {
        name: 'transit.decrypt',
        pattern: 'decrypt/(?<name>[^/]+)',
        operations: {
          update: (ctx) =>
            perItem(ctx, async (item) => {
              const plaintext = await transit.decrypt(mountOf(ctx), nameOf(ctx), requireCiphertext(item), aadOf(item));
              return { plaintext: plaintext.toString('base64') };
            }),
        },
      },
      {
        name: 'transit.rewrap',
        pattern: 'rewrap/(?<name>[^/]+)',
        operations: {
          update: (ctx) =>
            perItem(ctx, async (item) => {
              const result = await transit.rewrap(mountOf(ctx), nameOf(ctx), requireCiphertext(item), encryptOptions(item));
              return { ciphertext: result.ciphertext, key_version: result.keyVersion };
            }),
        },
      },
    ],
  };

  async function encrypt(ctx: RequestContext): Promise<HandlerResult> {
    const warnings = new Set<string>();
    const result = await perItem(ctx, async (item) => {
      if (item.plaintext === undefined) throw invalid('missing required field "plaintext"');
      const plaintext = decodeBase64Field(item.plaintext, 'plaintext');
      const out = await transit.encrypt(mountOf(ctx), nameOf(ctx), plaintext, encryptOptions(item));
      plaintext.fill(0);
      if (out.warning) warnings.add(out.warning);
      return { ciphertext: out.ciphertext, key_version: out.keyVersion };
    });
    return warnings.size > 0 ? { ...result, warnings: [...warnings] } : result;
  }
}

type Item = Record<string, unknown>;

/**
 * Single requests answer with the item's fields; `batch_input` answers `batch_results` with one entry per item, an
 * item's failure reported in its own `error` (status 400 when any item failed, as Vault does by default).
 */
async function perItem(ctx: RequestContext, handle: (item: Item) => Promise<Record<string, unknown>>): Promise<HandlerResult> {
  const batch = ctx.data.batch_input;
  if (batch === undefined || batch === null) return { data: await handle(ctx.data) };
  if (!Array.isArray(batch) || batch.length === 0) throw invalid('field "batch_input" must be a non-empty list of objects');
  let failed = false;
  const results: Record<string, unknown>[] = [];
  for (const raw of batch) {
    const item = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Item;
    const reference = typeof item.reference === 'string' ? { reference: item.reference } : {};
    try {
      if (item !== raw) throw invalid('each batch_input entry must be an object');
      results.push({ ...(await handle(item)), ...reference });
    } catch (err) {
      // Only typed, person-readable errors are shown per item; anything else fails the request as a whole.
      if (!isStrongroomError(err) || err.kind === 'sealed' || err.kind === 'internal' || err.kind === 'unavailable') throw err;
      failed = true;
      results.push({ error: err.message, ...reference });
    }
  }
  return { data: { batch_results: results }, ...(failed ? { status: 400 } : {}) };
}

function requireCiphertext(item: Item): string {
  const value = item.ciphertext;
  if (typeof value !== 'string' || value === '') throw invalid('missing required field "ciphertext"');
  return value;
}

function aadOf(item: Item): { associatedData?: Buffer } {
  const value = item.associated_data;
  if (value === undefined || value === null || value === '') return {};
  return { associatedData: decodeBase64Field(value, 'associated_data') };
}

function encryptOptions(item: Item): EncryptOptions {
  const keyVersion = optNonNegativeInt(item, 'key_version');
  return { ...aadOf(item), ...(keyVersion ? { keyVersion } : {}) };
}

function keyView(key: TransitKey): Record<string, unknown> {
  const keys: Record<string, number> = {};
  // Vault reports symmetric key versions as version → creation time in Unix seconds.
  for (const [version, createdAt] of Object.entries(key.versions)) keys[version] = Math.floor(createdAt / 1000);
  return {
    name: key.name,
    type: key.type,
    keys,
    latest_version: key.latestVersion,
    min_available_version: 0,
    min_decryption_version: key.minDecryptionVersion,
    min_encryption_version: key.minEncryptionVersion,
    deletion_allowed: key.deletionAllowed,
    exportable: false,
    allow_plaintext_backup: false,
    derived: false,
    imported_key: false,
    auto_rotate_period: 0,
    supports_encryption: true,
    supports_decryption: true,
    supports_derivation: false,
    supports_signing: false,
  };
}
