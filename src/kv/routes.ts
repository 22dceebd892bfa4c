import type { KvService, SecretMetadata, VersionInfo } from './types.js';
import type { Mount } from '../mounts/types.js';
import { formatDuration } from '../shared/duration.js';
import { StrongroomError, invalid, isStrongroomError } from '../shared/errors.js';
import type { Backend, DataAccess, HandlerResult, RequestContext } from '../logical/backend.js';
import {
  optBool,
  optDuration,
  optInt,
  optNonNegativeInt,
  optObject,
  optStringMap,
  versionList,
} from '../logical/fields.js';
import { rfc3339 } from '../logical/time.js';

/**
 * Vault's KV version 2 engine, served for every mount of type 'kv', plus our rollback/ and diff/ paths.
 * https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2
 */
export function createKvBackend(deps: { kv: KvService }): Backend {
  const { kv } = deps;
  const mountOf = (ctx: RequestContext): Mount => {
    if (!ctx.mount) throw new StrongroomError('internal', 'kv backend reached without a mount');
    return ctx.mount;
  };
  const path = (ctx: RequestContext): string => ctx.params.path ?? '';
  /**
   * Where the secret's values live, for endpoints that carry them under another name: the ACL must judge the
   * data/ path too, so a deny there wins (ARCHITECTURE: "Authorization that reads or writes secret data is always
   * checked against the data/ path it touches, whatever endpoint carries it").
   */
  const dataPath = (ctx: RequestContext): string => `${mountOf(ctx).path}data/${path(ctx)}`;
  const touches = (...capabilities: DataAccess['capabilities']) => (ctx: RequestContext): readonly DataAccess[] => [
    { path: dataPath(ctx), capabilities },
  ];

  return {
    mountType: 'kv',
    paths: [
      {
        name: 'kv.config',
        pattern: 'config',
        operations: {
          read: async (ctx) => {
            const config = await kv.readConfig(mountOf(ctx));
            return {
              data: {
                max_versions: config.maxVersions,
                cas_required: config.casRequired,
                delete_version_after: formatDuration(Math.floor(config.deleteVersionAfter / 1000)),
              },
            };
          },
          update: async (ctx) => {
            const maxVersions = optNonNegativeInt(ctx.data, 'max_versions');
            const casRequired = optBool(ctx.data, 'cas_required');
            const deleteAfter = optDuration(ctx.data, 'delete_version_after');
            await kv.writeConfig(mountOf(ctx), {
              ...(maxVersions !== undefined ? { maxVersions } : {}),
              ...(casRequired !== undefined ? { casRequired } : {}),
              ...(deleteAfter !== undefined ? { deleteVersionAfter: deleteAfter * 1000 } : {}),
            });
          },
        },
      },
      {
        name: 'kv.data',
        pattern: 'data/(?<path>.+)',
        // POST to a new secret needs 'create', to an existing one 'update' (Vault's ACL semantics for KV v2).
        existenceCheck: async (ctx) => exists(kv, mountOf(ctx), path(ctx)),
        operations: {
          read: async (ctx) => {
            const version = optNonNegativeInt(ctx.query, 'version');
            try {
              const result = await kv.read(mountOf(ctx), path(ctx), version);
              return { data: { data: result.data, metadata: versionView(result.metadata) }, auditClearData: NESTED_VERSION_CLEAR };
            } catch (err) {
              return deletedVersion(err);
            }
          },
          create: (ctx) => writeData(ctx),
          update: (ctx) => writeData(ctx),
          patch: async (ctx) => {
            const data = requireData(ctx.data);
            const cas = casOption(ctx.data);
            const info = await kv.patch(mountOf(ctx), path(ctx), data, cas === undefined ? undefined : { cas });
            return { data: versionView(info), auditClearData: VERSION_CLEAR };
          },
          delete: async (ctx) => {
            await kv.deleteLatest(mountOf(ctx), path(ctx));
          },
        },
      },
      {
        name: 'kv.metadata',
        pattern: 'metadata(?:/(?<path>.*))?',
        operations: {
          read: async (ctx) => ({ data: metadataView(await kv.readMetadata(mountOf(ctx), requirePath(ctx))) }),
          list: async (ctx) => {
            const prefix = path(ctx);
            const keys = await kv.list(mountOf(ctx), prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);
            return { data: { keys } };
          },
          create: (ctx) => writeMetadata(ctx),
          update: (ctx) => writeMetadata(ctx),
          patch: (ctx) => writeMetadata(ctx),
          delete: async (ctx) => {
            await kv.deleteMetadata(mountOf(ctx), requirePath(ctx));
          },
        },
      },
      {
        name: 'kv.delete',
        pattern: 'delete/(?<path>.+)',
        operations: {
          update: async (ctx) => {
            await kv.deleteVersions(mountOf(ctx), path(ctx), versionList(ctx.data));
          },
        },
      },
      {
        name: 'kv.undelete',
        pattern: 'undelete/(?<path>.+)',
        operations: {
          update: async (ctx) => {
            await kv.undeleteVersions(mountOf(ctx), path(ctx), versionList(ctx.data));
          },
        },
      },
      {
        name: 'kv.destroy',
        pattern: 'destroy/(?<path>.+)',
        operations: {
          update: async (ctx) => {
            await kv.destroyVersions(mountOf(ctx), path(ctx), versionList(ctx.data));
          },
        },
      },
      {
        name: 'kv.subkeys',
        pattern: 'subkeys/(?<path>.+)',
        operations: {
          read: async (ctx) => {
            const version = optNonNegativeInt(ctx.query, 'version');
            const depth = optNonNegativeInt(ctx.query, 'depth');
            try {
              const result = await kv.subkeys(mountOf(ctx), path(ctx), {
                ...(version !== undefined ? { version } : {}),
                ...(depth !== undefined ? { depth } : {}),
              });
              return { data: { subkeys: result.subkeys, metadata: versionView(result.metadata) }, auditClearData: NESTED_VERSION_CLEAR };
            } catch (err) {
              return deletedVersion(err, 'subkeys');
            }
          },
        },
      },
      {
        name: 'kv.rollback',
        pattern: 'rollback/(?<path>.+)',
        // Writes an old version's value as the new current one: an update of data/, and a read of the old value
        // (Vault's own `kv rollback` reads the version and writes it back, so it needs both; a caller must not be
        // able to resurrect a value it was never allowed to read).
        dataAccess: touches('read', 'update'),
        operations: {
          update: async (ctx) => {
            const version = optInt(ctx.data, 'version');
            if (version === undefined || version < 1) throw invalid('field "version" must be a positive integer');
            const cas = optNonNegativeInt(ctx.data, 'cas');
            const info = await kv.rollback(mountOf(ctx), path(ctx), version, cas === undefined ? undefined : { cas });
            return { data: versionView(info), auditClearData: VERSION_CLEAR };
          },
        },
      },
      {
        name: 'kv.diff',
        pattern: 'diff/(?<path>.+)',
        // Reads two versions' values. Even without show_values the answer is derived from them (which keys changed),
        // so the rule does not depend on a query flag a parser could read differently from the handler.
        dataAccess: touches('read'),
        operations: {
          read: async (ctx) => {
            const from = optInt(ctx.query, 'from');
            const to = optInt(ctx.query, 'to');
            if (from === undefined || to === undefined) throw invalid('query parameters "from" and "to" are required');
            const showValues = optBool(ctx.query, 'show_values') ?? false;
            const diff = await kv.diff(mountOf(ctx), path(ctx), from, to, { showValues });
            return {
              data: {
                from: diff.from,
                to: diff.to,
                added: diff.added,
                removed: diff.removed,
                changed: diff.changed,
                ...(diff.values ? { values: diff.values } : {}),
              },
            };
          },
        },
      },
    ],
  };

  async function writeData(ctx: RequestContext): Promise<HandlerResult> {
    const data = requireData(ctx.data);
    const cas = casOption(ctx.data);
    const info = await kv.write(mountOf(ctx), path(ctx), data, cas === undefined ? undefined : { cas });
    return { data: versionView(info), auditClearData: VERSION_CLEAR };
  }

  async function writeMetadata(ctx: RequestContext): Promise<void> {
    const maxVersions = optNonNegativeInt(ctx.data, 'max_versions');
    const casRequired = optBool(ctx.data, 'cas_required');
    const deleteAfter = optDuration(ctx.data, 'delete_version_after');
    const customMetadata = optStringMap(ctx.data, 'custom_metadata');
    await kv.writeMetadata(mountOf(ctx), requirePath(ctx), {
      ...(maxVersions !== undefined ? { maxVersions } : {}),
      ...(casRequired !== undefined ? { casRequired } : {}),
      ...(deleteAfter !== undefined ? { deleteVersionAfter: deleteAfter * 1000 } : {}),
      ...(customMetadata !== undefined ? { customMetadata } : {}),
    });
  }

  function requirePath(ctx: RequestContext): string {
    const p = path(ctx);
    if (p === '' || p.endsWith('/')) throw invalid('a secret path is required');
    return p;
  }
}

async function exists(kv: KvService, mount: Mount, path: string): Promise<boolean> {
  try {
    await kv.readMetadata(mount, path);
    return true;
  } catch (err) {
    if (isStrongroomError(err, 'not_found')) return false;
    // A malformed path is reported by the handler itself with the precise rule; treat as "new" here.
    if (isStrongroomError(err, 'invalid')) return false;
    throw err;
  }
}

function requireData(body: Record<string, unknown>): Record<string, unknown> {
  const data = optObject(body, 'data');
  if (data === undefined) throw invalid('no data provided: send {"data": {...}}');
  return data;
}

function casOption(body: Record<string, unknown>): number | undefined {
  const options = optObject(body, 'options');
  return options ? optNonNegativeInt(options, 'cas') : undefined;
}

/**
 * Vault answers a read of a deleted or destroyed version with 404 *and* the version's metadata, so clients can tell
 * "deleted" from "never existed".
 */
function deletedVersion(err: unknown, field: 'data' | 'subkeys' = 'data'): HandlerResult {
  if (isStrongroomError(err, 'not_found') && err.details?.metadata) {
    return {
      status: 404,
      data: { [field]: null, metadata: versionView(err.details.metadata as VersionInfo) },
      auditClearData: NESTED_VERSION_CLEAR,
    };
  }
  throw err;
}

/**
 * A version's number, timestamps and destroyed flag are not secret, and an audit trail that shows them answers "which
 * version did they read / write?". custom_metadata is user-supplied and stays HMAC'd.
 */
const VERSION_FIELDS = ['created_time', 'deletion_time', 'destroyed', 'version'] as const;
const VERSION_CLEAR: readonly string[] = VERSION_FIELDS;
const NESTED_VERSION_CLEAR: readonly string[] = VERSION_FIELDS.map((field) => `metadata.${field}`);

export function versionView(info: VersionInfo): Record<string, unknown> {
  return {
    created_time: rfc3339(info.createdTime),
    custom_metadata: info.customMetadata,
    deletion_time: rfc3339(info.deletionTime),
    destroyed: info.destroyed,
    version: info.version,
  };
}

export function metadataView(meta: SecretMetadata): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const [version, v] of Object.entries(meta.versions)) {
    versions[version] = { created_time: rfc3339(v.createdTime), deletion_time: rfc3339(v.deletionTime), destroyed: v.destroyed };
  }
  return {
    cas_required: meta.casRequired,
    created_time: rfc3339(meta.createdTime),
    current_version: meta.currentVersion,
    custom_metadata: meta.customMetadata,
    delete_version_after: formatDuration(Math.floor(meta.deleteVersionAfter / 1000)),
    max_versions: meta.maxVersions,
    oldest_version: meta.oldestVersion,
    updated_time: rfc3339(meta.updatedTime),
    versions,
  };
}
