import type { KvService, SecretMetadata, VersionInfo } from './types.js';
import type { Mount } from '../mounts/types.js';
import { z } from 'zod';
import { formatDuration } from '../shared/duration.js';
import { StrongroomError, invalid, isStrongroomError } from '../shared/errors.js';
import {
  definePath,
  type Backend,
  type DataAccess,
  type HandlerResult,
  type RequestContext,
} from '../logical/backend.js';
import { f, type FieldsInput } from '../logical/schema.js';
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
  const touches =
    (...capabilities: DataAccess['capabilities']) =>
    (ctx: RequestContext): readonly DataAccess[] => [{ path: dataPath(ctx), capabilities }];

  return {
    mountType: 'kv',
    paths: [
      definePath({
        name: 'kv.config',
        pattern: 'config',
        synopsis: "The mount's KV settings: version limit, check-and-set, automatic deletion.",
        fields: CONFIG_FIELDS,
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
            const {
              max_versions: maxVersions,
              cas_required: casRequired,
              delete_version_after: deleteAfter,
            } = ctx.input;
            await kv.writeConfig(mountOf(ctx), {
              ...(maxVersions !== undefined ? { maxVersions } : {}),
              ...(casRequired !== undefined ? { casRequired } : {}),
              ...(deleteAfter !== undefined ? { deleteVersionAfter: deleteAfter * 1000 } : {}),
            });
          },
        },
      }),
      definePath({
        name: 'kv.data',
        pattern: 'data/(?<path>.+)',
        synopsis: "A secret's versions: read one, write a new one, patch, delete the latest.",
        fields: DATA_FIELDS,
        queryFields: { version: f.int('The version to read (default: the current one).', { min: 0 }) },
        // POST to a new secret needs 'create', to an existing one 'update' (Vault's ACL semantics for KV v2).
        existenceCheck: async (ctx) => exists(kv, mountOf(ctx), path(ctx)),
        operations: {
          read: async (ctx) => {
            try {
              const result = await kv.read(mountOf(ctx), path(ctx), ctx.input.version);
              const metadata = versionView(result.metadata);
              return {
                data: { data: result.data, metadata },
                auditClearData: NESTED_VERSION_CLEAR,
                // The record and its metadata (deletion time and custom metadata change without a new record).
                auditDataKey: `${result.recordDigest}${JSON.stringify(metadata)}`,
                ...(result.durableAfter !== undefined ? { durableAfter: result.durableAfter } : {}),
              };
            } catch (err) {
              return deletedVersion(err);
            }
          },
          create: (ctx) => writeData(ctx),
          update: (ctx) => writeData(ctx),
          patch: async (ctx) => {
            const cas = ctx.input.options?.cas;
            const info = await kv.patch(
              mountOf(ctx),
              path(ctx),
              requireData(ctx.input),
              cas === undefined ? undefined : { cas },
            );
            return { data: versionView(info), auditClearData: VERSION_CLEAR };
          },
          delete: async (ctx) => {
            await kv.deleteLatest(mountOf(ctx), path(ctx));
          },
        },
      }),
      definePath({
        name: 'kv.metadata',
        pattern: 'metadata(?:/(?<path>.*))?',
        synopsis: "A secret's metadata and settings; lists the keys under a folder.",
        fields: METADATA_FIELDS,
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
      }),
      definePath({
        name: 'kv.delete',
        pattern: 'delete/(?<path>.+)',
        synopsis: 'Soft-deletes versions (undelete restores them).',
        fields: VERSIONS_FIELDS,
        operations: {
          update: async (ctx) => {
            await kv.deleteVersions(mountOf(ctx), path(ctx), ctx.input.versions);
          },
        },
      }),
      definePath({
        name: 'kv.undelete',
        pattern: 'undelete/(?<path>.+)',
        synopsis: 'Restores soft-deleted versions.',
        fields: VERSIONS_FIELDS,
        operations: {
          update: async (ctx) => {
            await kv.undeleteVersions(mountOf(ctx), path(ctx), ctx.input.versions);
          },
        },
      }),
      definePath({
        name: 'kv.destroy',
        pattern: 'destroy/(?<path>.+)',
        synopsis: 'Destroys the data of versions for good.',
        fields: VERSIONS_FIELDS,
        operations: {
          update: async (ctx) => {
            await kv.destroyVersions(mountOf(ctx), path(ctx), ctx.input.versions);
          },
        },
      }),
      definePath({
        name: 'kv.subkeys',
        pattern: 'subkeys/(?<path>.+)',
        synopsis: 'The keys of a secret version, without its values.',
        queryFields: {
          version: f.int('The version (default: the current one).', { min: 0 }),
          depth: f.int('How deep to descend (0: no limit).', { min: 0 }),
        },
        operations: {
          read: async (ctx) => {
            const { version, depth } = ctx.input;
            try {
              const result = await kv.subkeys(mountOf(ctx), path(ctx), {
                ...(version !== undefined ? { version } : {}),
                ...(depth !== undefined ? { depth } : {}),
              });
              return {
                data: { subkeys: result.subkeys, metadata: versionView(result.metadata) },
                auditClearData: NESTED_VERSION_CLEAR,
              };
            } catch (err) {
              return deletedVersion(err, 'subkeys');
            }
          },
        },
      }),
      definePath({
        name: 'kv.rollback',
        pattern: 'rollback/(?<path>.+)',
        synopsis: "Writes an old version's value as a new version.",
        fields: {
          version: f.int('The version to roll back to.', { min: 1 }),
          cas: f.int('Check-and-set: the current version the caller expects.', { min: 0 }),
        },
        // Writes an old version's value as the new current one: an update of data/, and a read of the old value
        // (Vault's own `kv rollback` reads the version and writes it back, so it needs both; a caller must not be
        // able to resurrect a value it was never allowed to read).
        dataAccess: touches('read', 'update'),
        operations: {
          update: async (ctx) => {
            const { version, cas } = ctx.input;
            if (version === undefined) throw invalid('field "version" must be a positive integer');
            const info = await kv.rollback(mountOf(ctx), path(ctx), version, cas === undefined ? undefined : { cas });
            return { data: versionView(info), auditClearData: VERSION_CLEAR };
          },
        },
      }),
      definePath({
        name: 'kv.diff',
        pattern: 'diff/(?<path>.+)',
        synopsis: 'Which keys changed between two versions (values only with show_values).',
        queryFields: {
          from: f.int('The older version.'),
          to: f.int('The newer version.'),
          show_values: f.bool('Include the values themselves.'),
        },
        // Reads two versions' values. Even without show_values the answer is derived from them (which keys changed),
        // so the rule does not depend on a query flag a parser could read differently from the handler.
        dataAccess: touches('read'),
        operations: {
          read: async (ctx) => {
            const { from, to } = ctx.input;
            if (from === undefined || to === undefined) throw invalid('query parameters "from" and "to" are required');
            const showValues = ctx.input.show_values ?? false;
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
      }),
    ],
  };

  async function writeData(ctx: RequestContext & { input: FieldsInput<typeof DATA_FIELDS> }): Promise<HandlerResult> {
    const cas = ctx.input.options?.cas;
    const info = await kv.write(
      mountOf(ctx),
      path(ctx),
      requireData(ctx.input),
      cas === undefined ? undefined : { cas },
    );
    return { data: versionView(info), auditClearData: VERSION_CLEAR };
  }

  async function writeMetadata(ctx: RequestContext & { input: FieldsInput<typeof METADATA_FIELDS> }): Promise<void> {
    const {
      max_versions: maxVersions,
      cas_required: casRequired,
      delete_version_after: deleteAfter,
      custom_metadata: customMetadata,
    } = ctx.input;
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
    return await kv.exists(mount, path);
  } catch (err) {
    if (isStrongroomError(err, 'not_found')) return false;
    // A malformed path is reported by the handler itself with the precise rule; treat as "new" here.
    if (isStrongroomError(err, 'invalid')) return false;
    throw err;
  }
}

const CONFIG_FIELDS = {
  max_versions: f.int('How many versions of each secret to keep (0: the default, 10).', { min: 0 }),
  cas_required: f.bool('Whether every write must carry the check-and-set option.'),
  delete_version_after: f.duration('How long a version lives before it is deleted (0: forever).'),
};

const METADATA_FIELDS = {
  ...CONFIG_FIELDS,
  custom_metadata: f.stringMap('User-defined keys and values describing the secret (not secret themselves).'),
};

const DATA_FIELDS = {
  data: f.object('The secret: any JSON object of keys and values.'),
  options: f.struct('Write options.', {
    cas: f.int('Check-and-set: write only if the current version is this one (0: only if none).', { min: 0 }),
  }),
};

/** Version lists for delete/undelete/destroy: `[1, 2]`, `"1,2"` or a single number. */
const VERSIONS_FIELDS = {
  versions: z
    .unknown()
    .transform((raw, ctx) => {
      const items =
        typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : typeof raw === 'number' ? [raw] : null;
      if (!items || items.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'no versions provided' });
        return z.NEVER;
      }
      const versions: unknown[] = items.map((v) => (typeof v === 'string' ? Number(v.trim()) : v));
      if (!versions.every((n): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1)) {
        ctx.addIssue({ code: 'custom', message: 'versions must be positive integers' });
        return z.NEVER;
      }
      return versions;
    })
    .meta({
      type: 'array',
      items: { type: 'integer', minimum: 1 },
      description: 'The versions, as a list or a comma-separated string.',
    }),
};

function requireData(input: FieldsInput<typeof DATA_FIELDS>): Record<string, unknown> {
  if (input.data === undefined) throw invalid('no data provided: send {"data": {...}}');
  return input.data;
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
    versions[version] = {
      created_time: rfc3339(v.createdTime),
      deletion_time: rfc3339(v.deletionTime),
      destroyed: v.destroyed,
    };
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
