import { definePath, type Backend, type HandlerResult, type RequestContext } from '../../logical/backend.js';
import { invalid } from '../../shared/errors.js';
import { decodeBase64Field } from '../ciphertext.js';
import { DATAKEY_FIELDS, DECRYPT_FIELDS, DECRYPT_ITEM, ENCRYPT_FIELDS, ENCRYPT_ITEM } from '../fields.js';
import type { TransitService } from '../types.js';
import {
  NONCE_REFUSED,
  aadOf,
  contextOf,
  encryptOptions,
  mountOf,
  nameOf,
  perItem,
  requireCiphertext,
} from './inputs.js';

/** Encrypt (creating the key when missing, as Vault's upsert does), decrypt and rewrap, one item or a batch. */
export function cipherPaths(transit: TransitService): Backend['paths'] {
  return [
    definePath({
      name: 'transit.encrypt',
      pattern: 'encrypt/(?<name>[^/]+)',
      synopsis: 'Encrypts with a named key (creating it when missing).',
      fields: ENCRYPT_FIELDS,
      // As in Vault, encrypting with a missing key creates it, which needs the 'create' capability.
      existenceCheck: async (ctx) => transit.keyExists(mountOf(ctx), nameOf(ctx)),
      // Encrypting with an existing key stores nothing (the usage counter is advisory); creating one does.
      changesNothing: ['update'],
      operations: {
        create: async (ctx) => {
          // Vault's config/keys disable_upsert: encrypting with a missing key is then refused, never a new key.
          if ((await transit.readKeysConfig(mountOf(ctx))).disableUpsert) throw invalid('encryption key not found');
          // Vault's upsert: the key takes `type` and `convergent_encryption`, and is derived when a context is given.
          const { type, convergent_encryption: convergent } = ctx.input;
          const batch = Array.isArray(ctx.data.batch_input)
            ? (ctx.data.batch_input as Array<Record<string, unknown> | null>)
            : [ctx.data];
          const derived = batch.some(
            (item) => item && typeof item === 'object' && typeof item.context === 'string' && item.context !== '',
          );
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
      changesNothing: ['update'],
      operations: {
        update: (ctx) =>
          perItem(ctx, DECRYPT_ITEM, async (item) => {
            const plaintext = await transit.decrypt(mountOf(ctx), nameOf(ctx), requireCiphertext(item), {
              ...aadOf(item),
              ...contextOf(item),
            });
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
            const result = await transit.rewrap(
              mountOf(ctx),
              nameOf(ctx),
              requireCiphertext(item),
              encryptOptions(item),
            );
            return { ciphertext: result.ciphertext, key_version: result.keyVersion };
          }),
      },
    }),
  ];

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

/** A new data key wrapped by a named key (and shown in plaintext for the plaintext kind). */
export function dataKeyPath(transit: TransitService): Backend['paths'][number] {
  return definePath({
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
  });
}
