import { randomBytes } from 'node:crypto';
import type { Mount } from '../mounts/types.js';
import { StrongroomError, invalid, isStrongroomError } from '../shared/errors.js';
import { decodeBase64Field } from './ciphertext.js';
import { HASH_NAMES, digest } from './digest.js';
import type { CreateKeyOptions, EncryptOptions, ExportType, TransitService } from './types.js';
import { keyView } from './views.js';
import { definePath, type Backend, type HandlerResult, type RequestContext } from '../logical/backend.js';
import { f, parseFields, type FieldSet, type FieldsInput } from '../logical/schema.js';
import {
  DATAKEY_FIELDS,
  DECRYPT_FIELDS,
  DECRYPT_ITEM,
  ENCRYPT_FIELDS,
  ENCRYPT_ITEM,
  HASH_FIELDS,
  HMAC_FIELDS,
  HMAC_ITEM,
  KEY_CONFIG_FIELDS,
  KEY_CREATE_FIELDS,
  RANDOM_FIELDS,
  RESTORE_FIELDS,
  SIGN_FIELDS,
  SIGN_ITEM,
  TRIM_FIELDS,
  VERIFY_FIELDS,
  VERIFY_ITEM,
} from './fields.js';

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
  const algorithmOf = (ctx: RequestContext, item: { algorithm?: string | undefined; hash_algorithm?: string | undefined }): string | undefined =>
    ctx.params.algorithm ?? item.algorithm ?? item.hash_algorithm;

  return {
    mountType: 'transit',
    paths: [
      {
        name: 'transit.keys.list',
        pattern: 'keys/?',
        synopsis: 'Lists the named keys.',
        operations: {
          list: async (ctx) => ({ data: { keys: await transit.listKeys(mountOf(ctx)) } }),
        },
      },
      definePath({
        name: 'transit.keys',
        pattern: 'keys/(?<name>[^/]+)',
        synopsis: 'Creates, reads or deletes a named key.',
        fields: KEY_CREATE_FIELDS,
        queryFields: { context: f.base64('A derived signing key: show its public keys for this derivation context (base64).') },
        operations: {
          read: async (ctx) => {
            const key = await transit.readKey(mountOf(ctx), nameOf(ctx));
            const context = ctx.input.context === undefined || ctx.input.context === '' ? undefined : decodeBase64Field(ctx.input.context, 'context');
            // Vault: a derived key read with a context shows that context's public keys.
            return { data: keyView(key, context && key.derived ? await transit.derivedPublicKeys(mountOf(ctx), nameOf(ctx), context) : undefined) };
          },
          update: async (ctx) => {
            if (ctx.input.managed_key_name !== undefined || ctx.input.managed_key_id !== undefined) {
              throw invalid('managed keys are not supported by Strongroom');
            }
            const key = await transit.createKey(mountOf(ctx), nameOf(ctx), createOptions(ctx.input));
            return { data: keyView(key) };
          },
          delete: async (ctx) => {
            await transit.deleteKey(mountOf(ctx), nameOf(ctx));
          },
        },
      }),
      {
        name: 'transit.keys.rotate',
        pattern: 'keys/(?<name>[^/]+)/rotate',
        synopsis: 'Adds a new version of a key.',
        operations: {
          update: async (ctx) => ({ data: keyView(await transit.rotateKey(mountOf(ctx), nameOf(ctx))) }),
        },
      },
      definePath({
        name: 'transit.keys.config',
        pattern: 'keys/(?<name>[^/]+)/config',
        synopsis: "A key's settings: minimum versions, deletion, export, backup, rotation period.",
        fields: KEY_CONFIG_FIELDS,
        operations: {
          update: async (ctx) => {
            const {
              exportable,
              allow_plaintext_backup: allowPlaintextBackup,
              auto_rotate_period: autoRotate,
              min_decryption_version: minDecryptionVersion,
              min_encryption_version: minEncryptionVersion,
              deletion_allowed: deletionAllowed,
            } = ctx.input;
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
      }),
      definePath({
        name: 'transit.encrypt',
        pattern: 'encrypt/(?<name>[^/]+)',
        synopsis: 'Encrypts with a named key (creating it when missing).',
        fields: ENCRYPT_FIELDS,
        // As in Vault, encrypting with a missing key creates it, which needs the 'create' capability.
        existenceCheck: async (ctx) => transit.keyExists(mountOf(ctx), nameOf(ctx)),
        operations: {
          create: async (ctx) => {
            // Vault's config/keys disable_upsert: encrypting with a missing key is then refused, never a new key.
            if ((await transit.readKeysConfig(mountOf(ctx))).disableUpsert) throw invalid('encryption key not found');
            // Vault's upsert: the key takes `type` and `convergent_encryption`, and is derived when a context is given.
            const { type, convergent_encryption: convergent } = ctx.input;
            const batch = Array.isArray(ctx.data.batch_input) ? (ctx.data.batch_input as Array<Record<string, unknown> | null>) : [ctx.data];
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
      }),
      definePath({
        name: 'transit.decrypt',
        pattern: 'decrypt/(?<name>[^/]+)',
        synopsis: 'Decrypts with a named key.',
        fields: DECRYPT_FIELDS,
        operations: {
          update: (ctx) =>
            perItem(ctx, DECRYPT_ITEM, async (item) => {
              const plaintext = await transit.decrypt(mountOf(ctx), nameOf(ctx), requireCiphertext(item), { ...aadOf(item), ...contextOf(item) });
              return { plaintext: plaintext.toString('base64') };
            }),
        },
      }),
      definePath({
        name: 'transit.rewrap',
        pattern: 'rewrap/(?<name>[^/]+)',
        synopsis: "Re-encrypts a ciphertext with the key's latest version, never showing the plaintext.",
        fields: DECRYPT_FIELDS,
        operations: {
          update: (ctx) =>
            perItem(ctx, DECRYPT_ITEM, async (item) => {
              const result = await transit.rewrap(mountOf(ctx), nameOf(ctx), requireCiphertext(item), encryptOptions(item));
              return { ciphertext: result.ciphertext, key_version: result.keyVersion };
            }),
        },
      }),
      definePath({
        name: 'transit.keys.trim',
        pattern: 'keys/(?<name>[^/]+)/trim',
        synopsis: "Deletes a key's versions older than min_available_version for good.",
        fields: TRIM_FIELDS,
        operations: {
          update: async (ctx) => {
            const min = ctx.input.min_available_version;
            if (min === undefined) throw invalid('missing required field "min_available_version"');
            return { data: keyView(await transit.trimKey(mountOf(ctx), nameOf(ctx), min)) };
          },
        },
      }),
      {
        name: 'transit.keys.import',
        // BYOK import is not implemented: say so instead of a generic "unsupported path".
        pattern: '(?:keys/(?<name>[^/]+)/import(?:_version)?|wrapping_key)',
        synopsis: 'Not supported: importing keys (BYOK).',
        operations: {
          read: () => Promise.reject(invalid('importing keys (BYOK) is not supported by Strongroom')),
          update: () => Promise.reject(invalid('importing keys (BYOK) is not supported by Strongroom')),
        },
      },
      definePath({
        name: 'transit.datakey',
        pattern: 'datakey/(?<kind>plaintext|wrapped)/(?<name>[^/]+)',
        synopsis: 'A new data key, wrapped by a named key (and in plaintext for the plaintext kind).',
        fields: DATAKEY_FIELDS,
        operations: {
          update: async (ctx) => {
            const bits = ctx.input.bits ?? 256;
            if (ctx.input.nonce !== undefined && ctx.input.nonce !== '') throw invalid(NONCE_REFUSED);
            const result = await transit.dataKey(mountOf(ctx), nameOf(ctx), bits, encryptOptions(ctx.input));
            const data: Record<string, unknown> = { ciphertext: result.ciphertext, key_version: result.keyVersion };
            if (ctx.params.kind === 'plaintext') data.plaintext = result.plaintext.toString('base64');
            result.plaintext.fill(0);
            return { data, ...(result.warning ? { warnings: [result.warning] } : {}) };
          },
        },
      }),
      definePath({
        name: 'transit.hmac',
        pattern: `hmac/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
        synopsis: 'HMACs an input with a named key.',
        fields: HMAC_FIELDS,
        operations: {
          update: (ctx) =>
            perItem(ctx, HMAC_ITEM, async (item) => {
              const keyVersion = item.key_version ?? ctx.input.key_version;
              const hmac = await transit.hmac(mountOf(ctx), nameOf(ctx), inputOf(item), {
                ...(keyVersion ? { keyVersion } : {}),
                ...optional('algorithm', algorithmOf(ctx, item) ?? algorithmOf(ctx, ctx.input)),
              });
              return { hmac };
            }, VAULT_200_BATCH),
        },
      }),
      definePath({
        name: 'transit.sign',
        pattern: `sign/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
        synopsis: 'Signs an input with a named asymmetric key.',
        fields: SIGN_FIELDS,
        operations: {
          update: (ctx) =>
            perItem(ctx, SIGN_ITEM, async (item) => {
              const keyVersion = item.key_version ?? ctx.input.key_version;
              const result = await transit.sign(mountOf(ctx), nameOf(ctx), {
                input: inputOf(item),
                ...signOptions(ctx, item, ctx.input),
                ...contextOf(item),
                ...(keyVersion ? { keyVersion } : {}),
              });
              return { signature: result.signature, key_version: result.keyVersion };
            }, VAULT_200_BATCH),
        },
      }),
      definePath({
        name: 'transit.verify',
        pattern: `verify/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
        synopsis: 'Verifies a signature or an HMAC with a named key.',
        fields: VERIFY_FIELDS,
        operations: {
          update: (ctx) =>
            perItem(ctx, VERIFY_ITEM, async (item, single) => {
              const input = inputOf(item);
              const hmac = item.hmac ?? (single ? undefined : ctx.input.hmac);
              const signature = item.signature ?? (single ? undefined : ctx.input.signature);
              if (hmac !== undefined && signature !== undefined) throw invalid('provide one of "signature" or "hmac", not both');
              if (hmac !== undefined) {
                const valid = await transit.verifyHmac(mountOf(ctx), nameOf(ctx), input, hmac, optional('algorithm', algorithmOf(ctx, item) ?? algorithmOf(ctx, ctx.input)));
                return { valid };
              }
              if (signature === undefined) throw invalid('missing required field "signature" or "hmac"');
              const valid = await transit.verifySignature(mountOf(ctx), nameOf(ctx), { input, signature, ...signOptions(ctx, item, ctx.input), ...contextOf(item) });
              return { valid };
            }, VAULT_200_BATCH),
        },
      }),
      definePath({
        name: 'transit.hash',
        pattern: `hash(?:/${HASH_ALGORITHMS})?`,
        synopsis: 'Hashes an input.',
        fields: HASH_FIELDS,
        operations: {
          update: async (ctx) => {
            const algorithm = ctx.params.algorithm ?? ctx.input.algorithm ?? 'sha2-256';
            if (algorithm === 'sha1') throw invalid('unsupported hash algorithm "sha1"');
            const format = formatOf(ctx.input.format);
            return { data: { sum: digest(algorithm, inputOf(ctx.input)).toString(format) } };
          },
        },
      }),
      definePath({
        name: 'transit.random',
        pattern: 'random(?:/(?<source>platform|seal|all))?(?:/(?<bytes>[0-9]+))?',
        synopsis: 'Random bytes from the platform CSPRNG.',
        fields: RANDOM_FIELDS,
        operations: {
          update: async (ctx) => {
            const bytes = ctx.params.bytes !== undefined ? Number(ctx.params.bytes) : (ctx.input.bytes ?? 32);
            if (!Number.isInteger(bytes) || bytes < 1 || bytes > RANDOM_MAX_BYTES) throw invalid(`bytes must be between 1 and ${RANDOM_MAX_BYTES}`);
            const source = ctx.params.source ?? ctx.input.source ?? 'platform';
            // Strongroom's seals have no entropy source of their own: every source is the platform CSPRNG.
            if (!['platform', 'seal', 'all'].includes(source)) throw invalid('source must be platform, seal or all');
            return { data: { random_bytes: randomBytes(bytes).toString(formatOf(ctx.input.format)) } };
          },
        },
      }),
      {
        name: 'transit.export',
        pattern: 'export/(?<type>encryption-key|signing-key|hmac-key|public-key)/(?<name>[^/]+)(?:/(?<version>latest|[0-9]+))?',
        synopsis: "Exports a key's versions (exportable keys only).",
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
        synopsis: 'An unknown export type (400).',
        operations: {
          read: (ctx) => Promise.reject(invalid(`invalid export type "${ctx.params.type}"; use encryption-key, signing-key, hmac-key or public-key`)),
        },
      },
      {
        name: 'transit.backup',
        pattern: 'backup/(?<name>[^/]+)',
        synopsis: 'A backup of a key (allow_plaintext_backup keys only).',
        operations: {
          read: async (ctx) => ({ data: { backup: await transit.backupKey(mountOf(ctx), nameOf(ctx)) } }),
        },
      },
      definePath({
        name: 'transit.restore',
        pattern: 'restore(?:/(?<name>[^/]+))?',
        synopsis: 'Restores a key from a backup.',
        fields: RESTORE_FIELDS,
        operations: {
          update: async (ctx) => {
            const { force } = ctx.input;
            await transit.restoreKey(mountOf(ctx), ctx.input.backup as string, {
              ...(ctx.params.name ? { name: ctx.params.name } : {}),
              ...(force !== undefined ? { force } : {}),
            });
          },
        },
      }),
      definePath({
        name: 'transit.config.keys',
        pattern: 'config/keys',
        synopsis: "The mount's key settings: whether encrypting with a missing key creates it.",
        fields: { disable_upsert: f.bool('Refuse to create a key on encrypt when it does not exist (default false).') },
        operations: {
          read: async (ctx) => ({ data: { disable_upsert: (await transit.readKeysConfig(mountOf(ctx))).disableUpsert } }),
          update: async (ctx) => {
            const current = await transit.readKeysConfig(mountOf(ctx));
            await transit.writeKeysConfig(mountOf(ctx), { disableUpsert: ctx.input.disable_upsert ?? current.disableUpsert });
            return { data: { disable_upsert: ctx.input.disable_upsert ?? current.disableUpsert } };
          },
        },
      }),
      {
        name: 'transit.cache-config',
        pattern: 'cache-config',
        synopsis: 'The key cache size (always 0: no cache).',
        operations: {
          read: async () => ({ data: { size: 0 } }),
        },
      },
    ],
  };

  async function encrypt(ctx: RequestContext): Promise<HandlerResult> {
    const warnings = new Set<string>();
    const result = await perItem(ctx, ENCRYPT_ITEM, async (item) => {
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


/**
 * Single requests answer with the item's fields; `batch_input` answers `batch_results` with one entry per item, an
 * item's failure reported in its own `error` (the status as Vault sets it: see the end of the function).
 */
async function perItem<F extends FieldSet>(
  ctx: RequestContext,
  itemFields: F,
  handle: (item: FieldsInput<F>, single: boolean) => Promise<Record<string, unknown>>,
  options: { failedItemsAreOk?: boolean } = {},
): Promise<HandlerResult> {
  const batch = ctx.data.batch_input;
  // A single request's fields were validated by the pipeline with the path's declaration (a superset of an item's).
  if (batch === undefined || batch === null) return { data: await handle(parseFields(itemFields, ctx.data), true) };
  if (!Array.isArray(batch) || batch.length === 0) throw invalid('field "batch_input" must be a non-empty list of objects');
  let failed = false;
  const results: Record<string, unknown>[] = [];
  for (const raw of batch) {
    const item = (raw && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
    const reference = typeof item.reference === 'string' ? { reference: item.reference } : {};
    try {
      if (item !== raw) throw invalid('each batch_input entry must be an object');
      results.push({ ...(await handle(parseFields(itemFields, item), false)), ...reference });
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
  const override = (ctx.input as { partial_failure_response_code?: number }).partial_failure_response_code;
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

function requireCiphertext(item: { ciphertext?: string | undefined }): string {
  const value = item.ciphertext;
  if (value === undefined || value === '') throw invalid('missing required field "ciphertext"');
  return value;
}

const VAULT_200_BATCH = { failedItemsAreOk: true };

/** Vault's own text (a nonce is used only by convergent keys of Vault's version 1, which Strongroom never creates). */
const NONCE_REFUSED = 'provided nonce not allowed for this key';

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function inputOf(item: { input?: unknown }): Buffer {
  if (item.input === undefined || item.input === null) throw invalid('missing required field "input"');
  return decodeBase64Field(item.input, 'input');
}

function formatOf(value: string | undefined): 'hex' | 'base64' {
  const format = value ?? 'base64';
  if (format !== 'hex' && format !== 'base64') throw invalid('format must be hex or base64');
  return format;
}

function contextOf(item: { context?: unknown }): { context?: Buffer } {
  const value = item.context;
  if (value === undefined || value === null || value === '') return {};
  return { context: decodeBase64Field(value, 'context') };
}

function createOptions(data: FieldsInput<typeof KEY_CREATE_FIELDS>): CreateKeyOptions {
  const autoRotate = data.auto_rotate_period;
  return {
    ...optional('type', data.type),
    ...optional('derived', data.derived),
    ...optional('convergent', data.convergent_encryption),
    ...optional('exportable', data.exportable),
    ...optional('allowPlaintextBackup', data.allow_plaintext_backup),
    ...optional('keySize', data.key_size),
    ...(autoRotate !== undefined ? { autoRotatePeriod: autoRotate * 1000 } : {}),
  };
}

type SignInput = FieldsInput<typeof SIGN_ITEM>;

/** Per-item signing options, falling back to the request's own (Vault reads them once per request). */
function signOptions(ctx: RequestContext, item: SignInput, request: SignInput) {
  const pick = (field: 'hash_algorithm' | 'algorithm' | 'signature_algorithm' | 'marshaling_algorithm') => item[field] ?? request[field];
  const prehashed = item.prehashed ?? request.prehashed;
  const salt = item.salt_length ?? request.salt_length;
  return {
    ...optional('hashAlgorithm', ctx.params.algorithm ?? pick('hash_algorithm') ?? pick('algorithm')),
    ...optional('prehashed', prehashed),
    ...optional('signatureAlgorithm', pick('signature_algorithm')),
    ...optional('marshalingAlgorithm', pick('marshaling_algorithm')),
    ...(typeof salt === 'string' || typeof salt === 'number' ? { saltLength: salt } : {}),
  };
}

function aadOf(item: { associated_data?: unknown }): { associatedData?: Buffer } {
  const value = item.associated_data;
  if (value === undefined || value === null || value === '') return {};
  return { associatedData: decodeBase64Field(value, 'associated_data') };
}

function encryptOptions(item: { key_version?: number | undefined; context?: unknown; associated_data?: unknown }): EncryptOptions {
  const keyVersion = item.key_version;
  return { ...aadOf(item), ...contextOf(item), ...(keyVersion ? { keyVersion } : {}) };
}
