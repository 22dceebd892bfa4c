import { randomBytes } from 'node:crypto';
import type { Mount } from '../mounts/types.js';
import { StrongroomError, invalid, isStrongroomError } from '../shared/errors.js';
import { decodeBase64Field } from './ciphertext.js';
import { HASH_NAMES, digest } from './digest.js';
import type { CreateKeyOptions, EncryptOptions, ExportType, TransitKey, TransitService } from './types.js';
import type { Backend, HandlerResult, RequestContext } from '../logical/backend.js';
import { optBool, optDuration, optInt, optNonNegativeInt, optString } from '../logical/fields.js';

/**
 * Vault's transit engine, served for every mount of type 'transit'.
 * https://developer.hashicorp.com/vault/api-docs/secret/transit
 * Every path is authorized against its own path by the pipeline (encrypt/<name>, sign/<name>, export/..., backup/...),
 * so granting encrypt never grants export: export and backup answer only to capabilities on their own paths, and the
 * key's own config must allow them as well.
 */
const RANDOM_MAX_BYTES = 128 * 1024;
const HASH_ALGORITHMS = `(?<algorithm>${HASH_NAMES.join('|')})`;

export function createTransitBackend(deps: { transit: TransitService }): Backend {
  const { transit } = deps;
  const mountOf = (ctx: RequestContext): Mount => {
    if (!ctx.mount) throw new StrongroomError('internal', 'transit backend reached without a mount');
    return ctx.mount;
  };
  const nameOf = (ctx: RequestContext): string => ctx.params.name ?? '';
  const algorithmOf = (ctx: RequestContext, item: Item): string | undefined => ctx.params.algorithm ?? optString(item, 'algorithm') ?? optString(item, 'hash_algorithm');

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
            if (ctx.data.managed_key_name !== undefined || ctx.data.managed_key_id !== undefined) {
              throw invalid('managed keys are not supported by Strongroom');
            }
            const key = await transit.createKey(mountOf(ctx), nameOf(ctx), createOptions(ctx.data));
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
            const exportable = optBool(ctx.data, 'exportable');
            const allowPlaintextBackup = optBool(ctx.data, 'allow_plaintext_backup');
            const autoRotate = optDuration(ctx.data, 'auto_rotate_period');
            const minDecryptionVersion = optNonNegativeInt(ctx.data, 'min_decryption_version');
            const minEncryptionVersion = optNonNegativeInt(ctx.data, 'min_encryption_version');
            const deletionAllowed = optBool(ctx.data, 'deletion_allowed');
            const key = await transit.configureKey(mountOf(ctx), nameOf(ctx), {
              ...(minDecryptionVersion !== undefined ? { minDecryptionVersion } : {}),
              ...(minEncryptionVersion !== undefined ? { minEncryptionVersion } : {}),
              ...(deletionAllowed !== undefined ? { deletionAllowed } : {}),
              ...(exportable !== undefined ? { exportable } : {}),
              ...(allowPlaintextBackup !== undefined ? { allowPlaintextBackup } : {}),
              ...(autoRotate !== undefined ? { autoRotatePeriod: autoRotate * 1000 } : {}),
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
            // Vault's upsert: the key takes `type` and `convergent_encryption`, and is derived when a context is given.
            const type = optString(ctx.data, 'type');
            const convergent = optBool(ctx.data, 'convergent_encryption');
            const batch = Array.isArray(ctx.data.batch_input) ? (ctx.data.batch_input as Item[]) : [ctx.data];
            const derived = batch.some((item) => item && typeof item === 'object' && typeof item.context === 'string' && item.context !== '');
            await transit.createKey(mountOf(ctx), nameOf(ctx), {
              ...(type ? { type } : {}),
              ...(convergent !== undefined ? { convergent } : {}),
              ...(derived ? { derived } : {}),
            });
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
              const plaintext = await transit.decrypt(mountOf(ctx), nameOf(ctx), requireCiphertext(item), { ...aadOf(item), ...contextOf(item) });
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
      {
        name: 'transit.keys.trim',
        pattern: 'keys/(?<name>[^/]+)/trim',
        operations: {
          update: async (ctx) => {
            const min = optInt(ctx.data, 'min_available_version');
            if (min === undefined) throw invalid('missing required field "min_available_version"');
            return { data: keyView(await transit.trimKey(mountOf(ctx), nameOf(ctx), min)) };
          },
        },
      },
      {
        name: 'transit.keys.import',
        // BYOK import is not implemented: say so instead of a generic "unsupported path".
        pattern: '(?:keys/(?<name>[^/]+)/import(?:_version)?|wrapping_key)',
        operations: {
          read: () => Promise.reject(invalid('importing keys (BYOK) is not supported by Strongroom')),
          update: () => Promise.reject(invalid('importing keys (BYOK) is not supported by Strongroom')),
        },
      },
      {
        name: 'transit.datakey',
        pattern: 'datakey/(?<kind>plaintext|wrapped)/(?<name>[^/]+)',
        operations: {
          update: async (ctx) => {
            const bits = optInt(ctx.data, 'bits') ?? 256;
            if (ctx.data.nonce !== undefined && ctx.data.nonce !== '') throw invalid(NONCE_REFUSED);
            const result = await transit.dataKey(mountOf(ctx), nameOf(ctx), bits, encryptOptions(ctx.data));
            const data: Record<string, unknown> = { ciphertext: result.ciphertext, key_version: result.keyVersion };
            if (ctx.params.kind === 'plaintext') data.plaintext = result.plaintext.toString('base64');
            result.plaintext.fill(0);
            return { data, ...(result.warning ? { warnings: [result.warning] } : {}) };
          },
        },
      },
      {
        name: 'transit.hmac',
        pattern: `hmac/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
        operations: {
          update: (ctx) =>
            perItem(ctx, async (item) => {
              const keyVersion = optNonNegativeInt(item, 'key_version') ?? optNonNegativeInt(ctx.data, 'key_version');
              const hmac = await transit.hmac(mountOf(ctx), nameOf(ctx), inputOf(item), {
                ...(keyVersion ? { keyVersion } : {}),
                ...optional('algorithm', algorithmOf(ctx, item) ?? algorithmOf(ctx, ctx.data)),
              });
              return { hmac };
            }, VAULT_200_BATCH),
        },
      },
      {
        name: 'transit.sign',
        pattern: `sign/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
        operations: {
          update: (ctx) =>
            perItem(ctx, async (item) => {
              const keyVersion = optNonNegativeInt(item, 'key_version') ?? optNonNegativeInt(ctx.data, 'key_version');
              const result = await transit.sign(mountOf(ctx), nameOf(ctx), {
                input: inputOf(item),
                ...signOptions(ctx, item),
                ...contextOf(item),
                ...(keyVersion ? { keyVersion } : {}),
              });
              return { signature: result.signature, key_version: result.keyVersion };
            }, VAULT_200_BATCH),
        },
      },
      {
        name: 'transit.verify',
        pattern: `verify/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
        operations: {
          update: (ctx) =>
            perItem(ctx, async (item) => {
              const input = inputOf(item);
              const hmac = item.hmac ?? (item === ctx.data ? undefined : ctx.data.hmac);
              const signature = item.signature ?? (item === ctx.data ? undefined : ctx.data.signature);
              if (hmac !== undefined && signature !== undefined) throw invalid('provide one of "signature" or "hmac", not both');
              if (typeof hmac === 'string') {
                const valid = await transit.verifyHmac(mountOf(ctx), nameOf(ctx), input, hmac, optional('algorithm', algorithmOf(ctx, item) ?? algorithmOf(ctx, ctx.data)));
                return { valid };
              }
              if (typeof signature !== 'string') throw invalid('missing required field "signature" or "hmac"');
              const valid = await transit.verifySignature(mountOf(ctx), nameOf(ctx), { input, signature, ...signOptions(ctx, item), ...contextOf(item) });
              return { valid };
            }, VAULT_200_BATCH),
        },
      },
      {
        name: 'transit.hash',
        pattern: `hash(?:/${HASH_ALGORITHMS})?`,
        operations: {
          update: async (ctx) => {
            const algorithm = ctx.params.algorithm ?? optString(ctx.data, 'algorithm') ?? 'sha2-256';
            if (algorithm === 'sha1') throw invalid('unsupported hash algorithm "sha1"');
            const format = formatOf(ctx.data);
            return { data: { sum: digest(algorithm, inputOf(ctx.data)).toString(format) } };
          },
        },
      },
      {
        name: 'transit.random',
        pattern: 'random(?:/(?<source>platform|seal|all))?(?:/(?<bytes>[0-9]+))?',
        operations: {
          update: async (ctx) => {
            const bytes = ctx.params.bytes !== undefined ? Number(ctx.params.bytes) : (optInt(ctx.data, 'bytes') ?? 32);
            if (!Number.isInteger(bytes) || bytes < 1 || bytes > RANDOM_MAX_BYTES) throw invalid(`bytes must be between 1 and ${RANDOM_MAX_BYTES}`);
            const source = ctx.params.source ?? optString(ctx.data, 'source') ?? 'platform';
            // Strongroom's seals have no entropy source of their own: every source is the platform CSPRNG.
            if (!['platform', 'seal', 'all'].includes(source)) throw invalid('source must be platform, seal or all');
            return { data: { random_bytes: randomBytes(bytes).toString(formatOf(ctx.data)) } };
          },
        },
      },
      {
        name: 'transit.export',
        pattern: 'export/(?<type>encryption-key|signing-key|hmac-key|public-key)/(?<name>[^/]+)(?:/(?<version>latest|[0-9]+))?',
        operations: {
          read: async (ctx) => {
            const mount = mountOf(ctx);
            const name = nameOf(ctx);
            let version: number | undefined;
            if (ctx.params.version === 'latest') version = (await transit.readKey(mount, name)).latestVersion;
            else if (ctx.params.version !== undefined) version = Number(ctx.params.version);
            const key = await transit.readKey(mount, name);
            const keys = await transit.exportKey(mount, name, ctx.params.type as ExportType, version);
            return { data: { name, type: key.type, keys } };
          },
        },
      },
      {
        name: 'transit.export.invalid',
        pattern: 'export/(?<type>[^/]+)/(?<name>[^/]+)(?:/(?<version>[^/]*))?',
        operations: {
          read: (ctx) => Promise.reject(invalid(`invalid export type "${ctx.params.type}"; use encryption-key, signing-key, hmac-key or public-key`)),
        },
      },
      {
        name: 'transit.backup',
        pattern: 'backup/(?<name>[^/]+)',
        operations: {
          read: async (ctx) => ({ data: { backup: await transit.backupKey(mountOf(ctx), nameOf(ctx)) } }),
        },
      },
      {
        name: 'transit.restore',
        pattern: 'restore(?:/(?<name>[^/]+))?',
        operations: {
          update: async (ctx) => {
            const force = optBool(ctx.data, 'force');
            await transit.restoreKey(mountOf(ctx), ctx.data.backup as string, {
              ...(ctx.params.name ? { name: ctx.params.name } : {}),
              ...(force !== undefined ? { force } : {}),
            });
          },
        },
      },
      {
        name: 'transit.cache-config',
        pattern: 'cache-config',
        operations: {
          read: async () => ({ data: { size: 0 } }),
        },
      },
    ],
  };

  async function encrypt(ctx: RequestContext): Promise<HandlerResult> {
    const warnings = new Set<string>();
    const result = await perItem(ctx, async (item) => {
      if (item.plaintext === undefined) throw invalid('missing required field "plaintext"');
      if (item.nonce !== undefined && item.nonce !== '') throw invalid(NONCE_REFUSED);
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
 * item's failure reported in its own `error` (the status as Vault sets it: see the end of the function).
 */
async function perItem(
  ctx: RequestContext,
  handle: (item: Item) => Promise<Record<string, unknown>>,
  options: { failedItemsAreOk?: boolean } = {},
): Promise<HandlerResult> {
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
  // Vault's sign, verify and hmac answer 200 with the errors inside; encrypt, decrypt and rewrap answer 400.
  if (!failed || options.failedItemsAreOk) return { data: { batch_results: results } };
  // Vault: 400 when an item failed; `partial_failure_response_code` replaces it when some items succeeded.
  const override = optInt(ctx.data, 'partial_failure_response_code');
  const someSucceeded = results.some((r) => r.error === undefined);
  if (override !== undefined && someSucceeded) {
    if (override >= 200 && override <= 599) return { data: { batch_results: results }, status: override };
    return {
      data: { batch_results: results },
      status: 400,
      warnings: ['invalid HTTP response code override from partial_failure_response_code, reverting to 400'],
    };
  }
  return { data: { batch_results: results }, status: 400 };
}

function requireCiphertext(item: Item): string {
  const value = item.ciphertext;
  if (typeof value !== 'string' || value === '') throw invalid('missing required field "ciphertext"');
  return value;
}

const VAULT_200_BATCH = { failedItemsAreOk: true };

/** Vault's own text (a nonce is used only by convergent keys of Vault's version 1, which Strongroom never creates). */
const NONCE_REFUSED = 'provided nonce not allowed for this key';

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function inputOf(item: Item): Buffer {
  if (item.input === undefined || item.input === null) throw invalid('missing required field "input"');
  return decodeBase64Field(item.input, 'input');
}

function formatOf(data: Item): 'hex' | 'base64' {
  const format = optString(data, 'format') ?? 'base64';
  if (format !== 'hex' && format !== 'base64') throw invalid('format must be hex or base64');
  return format;
}

function contextOf(item: Item): { context?: Buffer } {
  const value = item.context;
  if (value === undefined || value === null || value === '') return {};
  return { context: decodeBase64Field(value, 'context') };
}

function createOptions(data: Item): CreateKeyOptions {
  const autoRotate = optDuration(data, 'auto_rotate_period');
  const keySize = optNonNegativeInt(data, 'key_size');
  return {
    ...optional('type', optString(data, 'type')),
    ...optional('derived', optBool(data, 'derived')),
    ...optional('convergent', optBool(data, 'convergent_encryption')),
    ...optional('exportable', optBool(data, 'exportable')),
    ...optional('allowPlaintextBackup', optBool(data, 'allow_plaintext_backup')),
    ...optional('keySize', keySize),
    ...(autoRotate !== undefined ? { autoRotatePeriod: autoRotate * 1000 } : {}),
  };
}

/** Per-item signing options, falling back to the request's own (Vault reads them once per request). */
function signOptions(ctx: RequestContext, item: Item) {
  const pick = (field: string) => optString(item, field) ?? optString(ctx.data, field);
  const prehashed = optBool(item, 'prehashed') ?? optBool(ctx.data, 'prehashed');
  const salt = item.salt_length ?? ctx.data.salt_length;
  return {
    ...optional('hashAlgorithm', ctx.params.algorithm ?? pick('hash_algorithm') ?? pick('algorithm')),
    ...optional('prehashed', prehashed),
    ...optional('signatureAlgorithm', pick('signature_algorithm')),
    ...optional('marshalingAlgorithm', pick('marshaling_algorithm')),
    ...(typeof salt === 'string' || typeof salt === 'number' ? { saltLength: salt } : {}),
  };
}

function aadOf(item: Item): { associatedData?: Buffer } {
  const value = item.associated_data;
  if (value === undefined || value === null || value === '') return {};
  return { associatedData: decodeBase64Field(value, 'associated_data') };
}

function encryptOptions(item: Item): EncryptOptions {
  const keyVersion = optNonNegativeInt(item, 'key_version');
  return { ...aadOf(item), ...contextOf(item), ...(keyVersion ? { keyVersion } : {}) };
}

function keyView(key: TransitKey): Record<string, unknown> {
  const keys: Record<string, unknown> = {};
  const signing = Object.keys(key.publicKeys).length > 0;
  for (const [version, createdAt] of Object.entries(key.versions)) {
    // Vault: symmetric versions map to their creation time in Unix seconds, asymmetric ones to their public key.
    keys[version] = signing
      ? {
          name: curveName(key.type),
          // A derived key has a key pair per context: its root's public key verifies nothing, so none is shown.
          public_key: key.derived ? '' : (key.publicKeys[Number(version)] ?? ''),
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
  return ({ 'ecdsa-p256': 'P-256', 'ecdsa-p384': 'P-384', 'ecdsa-p521': 'P-521' } as Record<string, string>)[type] ?? type;
}
