import { definePath, type Backend } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import { invalid } from '../../shared/errors.js';
import { RESTORE_FIELDS } from '../fields.js';
import type { ExportType, TransitService } from '../types.js';
import { mountOf, nameOf } from './inputs.js';

/**
 * Keys leaving or entering the store (export, backup, restore: each answers only to capabilities on its own path and
 * to the key's own config) and the mount's settings.
 */
export function keyTransferPaths(transit: TransitService): Backend['paths'] {
  return [
    {
      name: 'transit.export',
      pattern:
        'export/(?<type>encryption-key|signing-key|hmac-key|public-key)/(?<name>[^/]+)(?:/(?<version>latest|[0-9]+))?',
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
        read: (ctx) =>
          Promise.reject(
            invalid(
              `invalid export type "${ctx.params.type}"; use encryption-key, signing-key, hmac-key or public-key`,
            ),
          ),
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
          await transit.writeKeysConfig(mountOf(ctx), {
            disableUpsert: ctx.input.disable_upsert ?? current.disableUpsert,
          });
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
  ];
}
