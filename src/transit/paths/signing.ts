import { randomBytes } from 'node:crypto';
import { definePath, type Backend } from '../../logical/backend.js';
import { invalid } from '../../shared/errors.js';
import { digest } from '../digest.js';
import {
  HASH_FIELDS,
  HMAC_FIELDS,
  HMAC_ITEM,
  RANDOM_FIELDS,
  SIGN_FIELDS,
  SIGN_ITEM,
  VERIFY_FIELDS,
  VERIFY_ITEM,
} from '../fields.js';
import type { TransitService } from '../types.js';
import {
  HASH_ALGORITHMS,
  VAULT_200_BATCH,
  algorithmOf,
  contextOf,
  formatOf,
  inputOf,
  mountOf,
  nameOf,
  optional,
  perItem,
  signOptions,
} from './inputs.js';

const RANDOM_MAX_BYTES = 128 * 1024;

/** HMAC, sign and verify with a named key; hash and random bytes, which need no key. */
export function signingPaths(transit: TransitService): Backend['paths'] {
  return [
    definePath({
      name: 'transit.hmac',
      pattern: `hmac/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
      synopsis: 'HMACs an input with a named key.',
      fields: HMAC_FIELDS,
      operations: {
        update: (ctx) =>
          perItem(
            ctx,
            HMAC_ITEM,
            async (item) => {
              const keyVersion = item.key_version ?? ctx.input.key_version;
              const hmac = await transit.hmac(mountOf(ctx), nameOf(ctx), inputOf(item), {
                ...(keyVersion ? { keyVersion } : {}),
                ...optional('algorithm', algorithmOf(ctx, item) ?? algorithmOf(ctx, ctx.input)),
              });
              return { hmac };
            },
            VAULT_200_BATCH,
          ),
      },
    }),
    definePath({
      name: 'transit.sign',
      pattern: `sign/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
      synopsis: 'Signs an input with a named asymmetric key.',
      fields: SIGN_FIELDS,
      operations: {
        update: (ctx) =>
          perItem(
            ctx,
            SIGN_ITEM,
            async (item) => {
              const keyVersion = item.key_version ?? ctx.input.key_version;
              const result = await transit.sign(mountOf(ctx), nameOf(ctx), {
                input: inputOf(item),
                ...signOptions(ctx, item, ctx.input),
                ...contextOf(item),
                ...(keyVersion ? { keyVersion } : {}),
              });
              return { signature: result.signature, key_version: result.keyVersion };
            },
            VAULT_200_BATCH,
          ),
      },
    }),
    definePath({
      name: 'transit.verify',
      pattern: `verify/(?<name>[^/]+)(?:/${HASH_ALGORITHMS})?`,
      synopsis: 'Verifies a signature or an HMAC with a named key.',
      fields: VERIFY_FIELDS,
      operations: {
        update: (ctx) =>
          perItem(
            ctx,
            VERIFY_ITEM,
            async (item, single) => {
              const input = inputOf(item);
              const hmac = item.hmac ?? (single ? undefined : ctx.input.hmac);
              const signature = item.signature ?? (single ? undefined : ctx.input.signature);
              if (hmac !== undefined && signature !== undefined)
                throw invalid('provide one of "signature" or "hmac", not both');
              if (hmac !== undefined) {
                const valid = await transit.verifyHmac(
                  mountOf(ctx),
                  nameOf(ctx),
                  input,
                  hmac,
                  optional('algorithm', algorithmOf(ctx, item) ?? algorithmOf(ctx, ctx.input)),
                );
                return { valid };
              }
              if (signature === undefined) throw invalid('missing required field "signature" or "hmac"');
              const valid = await transit.verifySignature(mountOf(ctx), nameOf(ctx), {
                input,
                signature,
                ...signOptions(ctx, item, ctx.input),
                ...contextOf(item),
              });
              return { valid };
            },
            VAULT_200_BATCH,
          ),
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
          if (!Number.isInteger(bytes) || bytes < 1 || bytes > RANDOM_MAX_BYTES)
            throw invalid(`bytes must be between 1 and ${RANDOM_MAX_BYTES}`);
          const source = ctx.params.source ?? ctx.input.source ?? 'platform';
          // Strongroom's seals have no entropy source of their own: every source is the platform CSPRNG.
          if (!['platform', 'seal', 'all'].includes(source)) throw invalid('source must be platform, seal or all');
          return { data: { random_bytes: randomBytes(bytes).toString(formatOf(ctx.input.format)) } };
        },
      },
    }),
  ];
}
