import type { Backend } from '../../logical/backend.js';
import { definePath } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { invalid } from '../../shared/errors.js';
import { decodeBase64Field } from '../ciphertext.js';
import { KEY_CONFIG_FIELDS, KEY_CREATE_FIELDS, TRIM_FIELDS } from '../fields.js';
import type { CreateKeyOptions, TransitService } from '../types.js';
import { keyView } from '../views.js';
import { mountOf, nameOf, optional } from './inputs.js';

/** Managing named keys: list, create, read, delete, rotate, configure. */
export function keyPaths(transit: TransitService): Backend['paths'] {
  return [
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
      queryFields: {
        context: f.base64('A derived signing key: show its public keys for this derivation context (base64).'),
      },
      operations: {
        read: async (ctx) => {
          const key = await transit.readKey(mountOf(ctx), nameOf(ctx));
          const context =
            ctx.input.context === undefined || ctx.input.context === ''
              ? undefined
              : decodeBase64Field(ctx.input.context, 'context');
          // Vault: a derived key read with a context shows that context's public keys.
          return {
            data: keyView(
              key,
              context && key.derived ? await transit.derivedPublicKeys(mountOf(ctx), nameOf(ctx), context) : undefined,
            ),
          };
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
  ];
}

/** A key's versions trimmed for good, and BYOK import (refused by name rather than as an unknown path). */
export function keyMaintenancePaths(transit: TransitService): Backend['paths'] {
  return [
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
  ];
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
