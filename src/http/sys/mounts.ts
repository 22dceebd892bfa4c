import type { KvMountConfig } from '../../kv/types.js';
import type { Mount, MountType } from '../../mounts/types.js';
import { StrongroomError, invalid, notFound } from '../../shared/errors.js';
import { normalizeMountPath } from '../../mounts/paths.js';
import type { BackendPath, RequestContext } from '../backend.js';
import type { HttpDeps } from '../deps.js';
import { optBool, optDuration, optNonNegativeInt, optObject, optString, reqString } from '../fields.js';

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
export function mountPaths(deps: Pick<HttpDeps, 'mounts' | 'kv' | 'engineBackends'>): BackendPath[] {
  const { mounts, kv } = deps;
  const enginesAvailable = (): MountType[] => ['kv', ...(Object.keys(deps.engineBackends) as MountType[])];

  async function find(path: string): Promise<Mount> {
    const normalized = path.endsWith('/') ? path : `${path}/`;
    const mount = (await mounts.list()).find((m) => m.path === normalized);
    if (!mount) throw notFound(`no mount at "${normalized}"`);
    return mount;
  }

  return [
    {
      name: 'sys.mounts.tune',
      pattern: 'mounts/(?<path>.+)/tune',
      aclPath: canonicalMountAclPath('/tune'),
      operations: {
        read: async (ctx) => {
          const mount = await find(ctx.params.path!);
          return { data: { ...(await tuneView(mount)), description: mount.description, options: mount.options } };
        },
        update: async (ctx) => {
          const mount = await find(ctx.params.path!);
          if (mount.type !== 'kv') return { warnings: ['nothing to tune on this mount type'] };
          const options = optObject(ctx.data, 'options') ?? {};
          const version = optString(options, 'version');
          if (version !== undefined && version !== '2') throw invalid('only KV version 2 is supported');
          // Vault tunes KV through kv's own config endpoint; accepting the same fields here saves a round trip.
          const config: Partial<KvMountConfig> = {};
          const maxVersions = optNonNegativeInt(ctx.data, 'max_versions') ?? optNonNegativeInt(options, 'max_versions');
          if (maxVersions !== undefined) config.maxVersions = maxVersions;
          const casRequired = optBool(ctx.data, 'cas_required') ?? optBool(options, 'cas_required');
          if (casRequired !== undefined) config.casRequired = casRequired;
          const deleteAfter = optDuration(ctx.data, 'delete_version_after') ?? optDuration(options, 'delete_version_after');
          if (deleteAfter !== undefined) config.deleteVersionAfter = deleteAfter * 1000;
          if (Object.keys(config).length > 0) await kv.writeConfig(mount, config);
        },
      },
    },
    {
      name: 'sys.mounts.list',
      pattern: 'mounts/?',
      operations: {
        read: async () => {
          const out: Record<string, unknown> = { 'sys/': systemMountView() };
          for (const mount of await mounts.list()) out[mount.path] = mountView(mount);
          return { data: out };
        },
      },
    },
    {
      name: 'sys.mounts',
      pattern: `mounts/${MOUNT_PATH}`,
      aclPath: canonicalMountAclPath(''),
      operations: {
        read: async (ctx) => ({ data: mountView(await find(ctx.params.path!)) }),
        update: async (ctx) => {
          const { type, options } = mountTypeOf(ctx.data);
          if (!enginesAvailable().includes(type)) throw invalid(`unsupported secrets engine type "${type}"`);
          const description = optString(ctx.data, 'description');
          await mounts.enable({ path: ctx.params.path!, type, options, ...(description !== undefined ? { description } : {}) });
        },
        delete: async (ctx) => {
          await mounts.disable(ctx.params.path!);
        },
      },
    },
    {
      name: 'sys.internal.ui.mounts',
      pattern: 'internal/ui/mounts/(?<path>.+)',
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

/** `{type: "kv", options: {version: "2"}}` and `{type: "kv-v2"}` are the same thing; KV v1 is not offered. */
function mountTypeOf(data: Record<string, unknown>): { type: MountType; options: Record<string, string> } {
  const type = reqString(data, 'type');
  const rawOptions = optObject(data, 'options') ?? {};
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawOptions)) if (typeof v === 'string' || typeof v === 'number') options[k] = String(v);
  if (type === 'kv-v2' || type === 'kv') {
    if (options.version !== undefined && options.version !== '2') throw invalid('only KV version 2 is supported');
    return { type: 'kv', options: { ...options, version: '2' } };
  }
  return { type: type as MountType, options };
}

function mountView(mount: Mount): Record<string, unknown> {
  return {
    type: mount.type,
    description: mount.description,
    accessor: mount.accessor,
    uuid: mount.uuid,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    options: mount.type === 'kv' ? { version: '2', ...mount.options } : mount.options,
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

async function tuneView(_mount: Mount): Promise<Record<string, unknown>> {
  return { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false };
}
