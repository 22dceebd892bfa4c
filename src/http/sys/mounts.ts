import type { KvMountConfig } from '../../kv/types.js';
import type { Mount, MountType } from '../../mounts/types.js';
import { StrongroomError, invalid, notFound } from '../../shared/errors.js';
import { normalizeMountPath } from '../../mounts/paths.js';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f, parseFields, type FieldsInput } from '../../logical/schema.js';
import type { HttpDeps } from '../deps.js';
import { SYSTEM_LEASE_TTL_SECONDS } from '../../shared/duration.js';

const MOUNT_PATH = '(?<path>.+?)/?';

/**
 * The ACL judges the mount the handler acts on, in the form policies name it ('sys/mounts/secret'): otherwise
 * 'sys/mounts/secret/', 'sys/mounts//secret' or 'sys/mounts/secret//tune' reach the same mount while slipping past
 * a rule written for 'sys/mounts/secret'. A path that does not normalize is judged as sent (the handler rejects it).
 */
function canonicalMountAclPath(suffix: string) {
  return (ctx: RequestContext): string => {
    try {
      return `sys/mounts/${normalizeMountPath(ctx.params.path!).slice(0, -1)}${suffix}`;
    } catch {
      return ctx.path;
    }
  };
}

/**
 * Vault's sys/mounts, sys/mounts/<path>/tune and sys/internal/ui/mounts/<path> (how clients such as the vault CLI
 * and node-vault helpers detect that a mount is KV version 2).
 */
export function mountPaths(deps: Pick<HttpDeps, 'mounts' | 'kv' | 'authMounts'>): BackendPath[] {
  const { mounts, kv, authMounts } = deps;

  async function find(path: string): Promise<Mount> {
    const normalized = path.endsWith('/') ? path : `${path}/`;
    const mount = (await mounts.list()).find((m) => m.path === normalized);
    if (!mount) throw notFound(`no mount at "${normalized}"`);
    return mount;
  }

  return [
    definePath({
      name: 'sys.mounts.tune',
      pattern: 'mounts/(?<path>.+)/tune',
      aclPath: canonicalMountAclPath('/tune'),
      synopsis: "A mount's tunable settings; upgrades a KV version 1 mount to version 2.",
      fields: TUNE_FIELDS,
      operations: {
        read: async (ctx) => {
          const mount = await find(ctx.params.path!);
          return { data: { ...tuneView(), description: mount.description, options: mountOptions(mount) } };
        },
        update: async (ctx) => {
          let mount = await find(ctx.params.path!);
          if (mount.type !== 'kv') return { warnings: ['nothing to tune on this mount type'] };
          const options = ctx.input.options ?? {};
          const version = kvVersionOption(options);
          const warnings: string[] = [];
          if (version !== undefined) {
            const before = mount.options.version;
            ({ mount } = await mounts.tuneOptions(mount.path, { version }));
            // Vault warns that an upgrade is under way; ours is done when this answer is sent (each value already is
            // version 1 of its secret, so nothing is rewritten).
            if (before !== mount.options.version) {
              warnings.push(
                `Upgrading mount from version ${before} to version ${version}: existing secrets are now version 1 of each secret.`,
              );
            }
          }
          // Vault tunes KV through kv's own config endpoint; accepting the same fields here saves a round trip.
          const config: Partial<KvMountConfig> = {};
          const inOptions = parseFields(KV_TUNE_FIELDS, options);
          const maxVersions = ctx.input.max_versions ?? inOptions.max_versions;
          if (maxVersions !== undefined) config.maxVersions = maxVersions;
          const casRequired = ctx.input.cas_required ?? inOptions.cas_required;
          if (casRequired !== undefined) config.casRequired = casRequired;
          const deleteAfter = ctx.input.delete_version_after ?? inOptions.delete_version_after;
          if (deleteAfter !== undefined) config.deleteVersionAfter = deleteAfter * 1000;
          if (Object.keys(config).length > 0) await kv.writeConfig(mount, config);
          return warnings.length > 0 ? { warnings } : undefined;
        },
      },
    }),
    {
      name: 'sys.mounts.list',
      pattern: 'mounts/?',
      synopsis: 'Lists the mounted secrets engines.',
      operations: {
        read: async () => {
          const out: Record<string, unknown> = { 'sys/': systemMountView() };
          for (const mount of await mounts.list()) out[mount.path] = mountView(mount);
          return { data: out };
        },
      },
    },
    definePath({
      name: 'sys.mounts',
      pattern: `mounts/${MOUNT_PATH}`,
      aclPath: canonicalMountAclPath(''),
      synopsis: 'Mounts, reads or unmounts a secrets engine.',
      fields: MOUNT_FIELDS,
      operations: {
        read: async (ctx) => ({ data: mountView(await find(ctx.params.path!)) }),
        update: async (ctx) => {
          const { type, options } = mountTypeOf(ctx.input);
          // Which types exist, and their option rules, is the module registry's answer (the mount service asks it).
          const description = ctx.input.description;
          await mounts.enable({
            path: ctx.params.path!,
            type,
            options,
            ...(description !== undefined ? { description } : {}),
          });
        },
        delete: async (ctx) => {
          await mounts.disable(ctx.params.path!);
        },
      },
    }),
    {
      name: 'sys.internal.ui.mounts.list',
      pattern: 'internal/ui/mounts/?',
      synopsis: 'Lists the mounts the caller can use something under (how a console finds its way without sys/mounts).',
      skipAcl: true,
      operations: {
        // As Vault's: every token may ask, and hears only of the mounts under which its policies grant something, so
        // a person whose token may not read sys/mounts still sees where their secrets are, and nothing else.
        read: async (ctx) => {
          const secret: Record<string, unknown> = {};
          for (const mount of await mounts.list()) {
            if (await ctx.canReachUnder(mount.path)) secret[mount.path] = mountView(mount);
          }
          const auth: Record<string, unknown> = {};
          for (const mount of await authMounts.list()) {
            if (await ctx.canReachUnder(`auth/${mount.path}`)) {
              auth[mount.path] = { type: mount.type, description: mount.description, accessor: mount.accessor };
            }
          }
          return { data: { secret, auth } };
        },
      },
    },
    {
      name: 'sys.internal.ui.mounts',
      pattern: 'internal/ui/mounts/(?<path>.+)',
      synopsis: 'Describes the mount serving a path (clients ask which KV version it is).',
      skipAcl: true,
      operations: {
        read: async (ctx) => {
          const found = await mounts.resolve(ctx.params.path!.endsWith('/') ? ctx.params.path! : `${ctx.params.path}/`);
          // Vault describes a mount only to a caller who can use something in it, and answers an unknown path the
          // same way (403), so this endpoint cannot be used to list the mounts one may not see. A caller who may
          // read sys/mounts learns nothing new from a 404, which lets the CLI say "nothing is mounted there".
          if (!found) {
            if (await ctx.can('read', 'sys/mounts')) throw notFound(`no mount for "${ctx.params.path}"`);
            throw new StrongroomError('forbidden', 'permission denied');
          }
          if (!(await ctx.canReachUnder(found.mount.path))) throw new StrongroomError('forbidden', 'permission denied');
          return { data: { ...mountView(found.mount), path: found.mount.path } };
        },
      },
    },
  ];
}

const MOUNT_FIELDS = {
  type: f.requiredString('The engine type: kv (version 1), kv-v2, transit.'),
  description: f.string('A human-friendly description of the mount.'),
  options: f.object('Engine options; for kv, version ("1" or "2").'),
  config: f.object("Vault's mount configuration (lease TTLs and the like); accepted and not applied."),
};

const KV_TUNE_FIELDS = {
  max_versions: f.int('KV: how many versions of each secret to keep.', { min: 0 }),
  cas_required: f.bool('KV: whether every write must carry check-and-set.'),
  delete_version_after: f.duration('KV: how long a version lives before it is deleted.'),
};

const TUNE_FIELDS = {
  ...KV_TUNE_FIELDS,
  options: f.object('Engine options; for kv, version "2" upgrades a version 1 mount.'),
};

/**
 * As in Vault: `{type: "kv-v2"}` and `{type: "kv", options: {version: "2"}}` are KV version 2; `{type: "kv"}` without
 * a version is version 1 (the mount service's default), as is `options.version: "1"`.
 */
function mountTypeOf(data: FieldsInput<typeof MOUNT_FIELDS>): { type: MountType; options: Record<string, string> } {
  const type = data.type;
  const rawOptions = data.options ?? {};
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawOptions))
    if (typeof v === 'string' || typeof v === 'number') options[k] = String(v);
  if (type === 'kv-v2') {
    if (options.version !== undefined && options.version !== '2')
      throw invalid('type "kv-v2" is KV version 2; drop options.version or set it to "2"');
    return { type: 'kv', options: { ...options, version: '2' } };
  }
  if (type === 'kv') {
    const version = kvVersionOption(options);
    return { type: 'kv', options: version === undefined ? options : { ...options, version } };
  }
  return { type: type as MountType, options };
}

/** options.version of a kv mount, as Vault's clients send it ("2" or 2); undefined when absent. */
function kvVersionOption(options: Record<string, unknown>): '1' | '2' | undefined {
  const raw = options.version;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const text = String(raw);
  if (text === '1' || text === '2') return text;
  throw invalid(`options.version must be "1" or "2" for the kv engine, got ${JSON.stringify(raw)}`);
}

function mountView(mount: Mount): Record<string, unknown> {
  return {
    type: mount.type,
    description: mount.description,
    accessor: mount.accessor,
    uuid: mount.uuid,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    options: mountOptions(mount),
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
    plugin_version: '',
    running_plugin_version: '',
  };
}

function systemMountView(): Record<string, unknown> {
  return {
    type: 'system',
    description: 'system endpoints used for control, policy and debugging',
    accessor: 'system',
    uuid: '',
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    options: null,
    local: false,
    seal_wrap: true,
    external_entropy_access: false,
    plugin_version: '',
    running_plugin_version: '',
  };
}

/**
 * A tune read reports the mount's effective TTLs: as Vault does for a mount without its own (every mount here), the
 * system's, 2764800 s. (sys/mounts lists each mount's own setting, 0, as Vault does.)
 */
function tuneView(): Record<string, unknown> {
  return {
    default_lease_ttl: SYSTEM_LEASE_TTL_SECONDS,
    max_lease_ttl: SYSTEM_LEASE_TTL_SECONDS,
    force_no_cache: false,
  };
}

/** A kv mount shows its version as Vault does, "2" unless it says otherwise. */
function mountOptions(mount: Mount): Record<string, unknown> | null {
  return mount.type === 'kv' ? { version: '2', ...mount.options } : mount.options;
}
