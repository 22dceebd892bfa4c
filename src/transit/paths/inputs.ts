import type { Mount } from '../../mounts/types.js';
import { StrongroomError, invalid, isStrongroomError } from '../../shared/errors.js';
import { decodeBase64Field } from '../ciphertext.js';
import { HASH_NAMES } from '../digest.js';
import type { EncryptOptions } from '../types.js';
import type { HandlerResult, RequestContext } from '../../logical/backend.js';
import { parseFields, type FieldSet, type FieldsInput } from '../../logical/schema.js';
import type { SIGN_ITEM } from '../fields.js';

/**
 * What the transit paths share: reading a request's mount, key name and options, and Vault's batch_input handling.
 * Pure functions of the request, so every path group reads its input the same way.
 */
export const HASH_ALGORITHMS = `(?<algorithm>${HASH_NAMES.join('|')})`;

export const mountOf = (ctx: RequestContext): Mount => {
  if (!ctx.mount) throw new StrongroomError('internal', 'transit backend reached without a mount');
  return ctx.mount;
};
export const nameOf = (ctx: RequestContext): string => ctx.params.name ?? '';
export const algorithmOf = (
  ctx: RequestContext,
  item: { algorithm?: string | undefined; hash_algorithm?: string | undefined },
): string | undefined => ctx.params.algorithm ?? item.algorithm ?? item.hash_algorithm;

/**
 * Single requests answer with the item's fields; `batch_input` answers `batch_results` with one entry per item, an
 * item's failure reported in its own `error` (the status as Vault sets it: see the end of the function).
 */
export async function perItem<F extends FieldSet>(
  ctx: RequestContext,
  itemFields: F,
  handle: (item: FieldsInput<F>, single: boolean) => Promise<Record<string, unknown>>,
  options: { failedItemsAreOk?: boolean } = {},
): Promise<HandlerResult> {
  const batch = ctx.data.batch_input;
  // A single request's fields were validated by the pipeline with the path's declaration (a superset of an item's).
  if (batch === undefined || batch === null) return { data: await handle(parseFields(itemFields, ctx.data), true) };
  if (!Array.isArray(batch) || batch.length === 0)
    throw invalid('field "batch_input" must be a non-empty list of objects');
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
      if (!isStrongroomError(err) || err.kind === 'sealed' || err.kind === 'internal' || err.kind === 'unavailable')
        throw err;
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

export function requireCiphertext(item: { ciphertext?: string | undefined }): string {
  const value = item.ciphertext;
  if (value === undefined || value === '') throw invalid('missing required field "ciphertext"');
  return value;
}

export const VAULT_200_BATCH = { failedItemsAreOk: true };

/** Vault's own text (a nonce is used only by convergent keys of Vault's version 1, which Strongroom never creates). */
export const NONCE_REFUSED = 'provided nonce not allowed for this key';

export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export function inputOf(item: { input?: unknown }): Buffer {
  if (item.input === undefined || item.input === null) throw invalid('missing required field "input"');
  return decodeBase64Field(item.input, 'input');
}

export function formatOf(value: string | undefined): 'hex' | 'base64' {
  const format = value ?? 'base64';
  if (format !== 'hex' && format !== 'base64') throw invalid('format must be hex or base64');
  return format;
}

export function contextOf(item: { context?: unknown }): { context?: Buffer } {
  const value = item.context;
  if (value === undefined || value === null || value === '') return {};
  return { context: decodeBase64Field(value, 'context') };
}

export type SignInput = FieldsInput<typeof SIGN_ITEM>;

/** Per-item signing options, falling back to the request's own (Vault reads them once per request). */
export function signOptions(ctx: RequestContext, item: SignInput, request: SignInput) {
  const pick = (field: 'hash_algorithm' | 'algorithm' | 'signature_algorithm' | 'marshaling_algorithm') =>
    item[field] ?? request[field];
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

export function aadOf(item: { associated_data?: unknown }): { associatedData?: Buffer } {
  const value = item.associated_data;
  if (value === undefined || value === null || value === '') return {};
  return { associatedData: decodeBase64Field(value, 'associated_data') };
}

export function encryptOptions(item: {
  key_version?: number | undefined;
  context?: unknown;
  associated_data?: unknown;
}): EncryptOptions {
  const keyVersion = item.key_version;
  return { ...aadOf(item), ...contextOf(item), ...(keyVersion ? { keyVersion } : {}) };
}
