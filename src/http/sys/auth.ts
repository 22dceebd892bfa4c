import type { Mount } from '../../mounts/types.js';
import { normalizeMountPath } from '../../mounts/paths.js';
import { invalid } from '../../shared/errors.js';
import type { BackendPath, RequestContext } from '../../logical/backend.js';
import { optDuration, optObject, optString, optStringMap, reqString } from '../../logical/fields.js';
import type { HttpDeps } from '../deps.js';
import { SYSTEM_LEASE_TTL_SECONDS } from '../../shared/duration.js';

/**
 * Vault's sys/auth: list, enable, read, disable and tune auth method mounts (paths relative to auth/).
 * https://developer.hashicorp.com/vault/api-docs/system/auth
 *
 * As in Vault (its system backend's root paths include `auth/*`), everything under sys/auth/<path> needs sudo;
 * listing sys/auth does not, nor does tuning through sys/mounts/auth/<path>/tune.
 */
export function authPaths(deps: Pick<HttpDeps, 'authMounts'>): BackendPath[] {
  const { authMounts } = deps;

  async function find(input: string): Promise<Mount> {
    const path = normalizeMountPath(input, []);
    const mount = (await authMounts.list()).find((m) => m.path === path);
    // Vault's words for an auth path with nothing mounted.
    if (!mount) throw invalid(`no auth engine at auth/${path}`);
    return mount;
  }

  const tune = {
    read: async (ctx: RequestContext) => ({ data: tuneView(await find(ctx.params.path!)) }),
    update: async (ctx: RequestContext) => {
      const mount = await find(ctx.params.path!);
      // Lease TTLs per auth mount would cap the tokens its logins issue; Strongroom does not apply them, so setting
      // one is refused rather than silently ignored (0 and -1, Vault's "system default", are accepted).
      for (const field of ['default_lease_ttl', 'max_lease_ttl'] as const) {
        const raw = ctx.data[field];
        if (raw === -1 || raw === '-1') continue;
        if ((optDuration(ctx.data, field) ?? 0) > 0) throw invalid(`${field} is not supported on auth mounts: it would not be enforced`);
      }
      const options = optStringMap(ctx.data, 'options') ?? {};
      const description = optString(ctx.data, 'description');
      await authMounts.tuneOptions(mount.path, options, description);
    },
  };

  return [
    {
      name: 'sys.auth.list',
      pattern: 'auth/?',
      operations: {
        read: async () => {
          const out: Record<string, unknown> = {};
          for (const mount of await authMounts.list()) out[mount.path] = authView(mount);
          return { data: out };
        },
      },
    },
    {
      name: 'sys.auth.tune',
      pattern: 'auth/(?<path>.+)/tune',
      sudo: true,
      aclPath: canonicalAclPath('sys/auth/', '/tune'),
      operations: tune,
    },
    {
      // The same tuning, where the vault CLI sends it (`vault auth tune` writes sys/mounts/auth/<path>/tune).
      name: 'sys.mounts.auth.tune',
      pattern: 'mounts/auth/(?<path>.+)/tune',
      aclPath: canonicalAclPath('sys/mounts/auth/', '/tune'),
      operations: tune,
    },
    {
      name: 'sys.auth',
      pattern: 'auth/(?<path>.+?)/?',
      sudo: true,
      aclPath: canonicalAclPath('sys/auth/', ''),
      operations: {
        read: async (ctx) => ({ data: authView(await find(ctx.params.path!)) }),
        update: async (ctx) => {
          const type = reqString(ctx.data, 'type');
          const description = optString(ctx.data, 'description');
          const config = optObject(ctx.data, 'config') ?? {};
          for (const field of ['default_lease_ttl', 'max_lease_ttl'] as const) {
            if ((optDuration(config, field) ?? 0) > 0) throw invalid(`config.${field} is not supported on auth mounts: it would not be enforced`);
          }
          const options = optStringMap(ctx.data, 'options') ?? {};
          await authMounts.enable({ path: ctx.params.path!, type, options, ...(description !== undefined ? { description } : {}) });
        },
        delete: async (ctx) => {
          await authMounts.disable(ctx.params.path!);
        },
      },
    },
  ];
}

/**
 * The ACL judges the mount in the form policies name it ('sys/auth/approle'), whatever slashes the request carried.
 * A path that does not normalize is judged as sent (the handler rejects it).
 */
function canonicalAclPath(prefix: string, suffix: string) {
  return (ctx: RequestContext): string => {
    try {
      return `${prefix}${normalizeMountPath(ctx.params.path!, []).slice(0, -1)}${suffix}`;
    } catch {
      return ctx.path;
    }
  };
}

function authView(mount: Mount): Record<string, unknown> {
  return {
    type: mount.type,
    description: mount.description,
    accessor: mount.accessor,
    uuid: mount.uuid,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false, token_type: 'default-service' },
    options: Object.keys(mount.options).length > 0 ? mount.options : null,
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
    plugin_version: '',
    running_plugin_version: '',
    running_sha256: '',
    ...(mount.type === 'token' ? {} : { deprecation_status: 'supported' }),
  };
}

/** Effective TTLs, as Vault reports them for a mount without its own: the system's 768h (the list shows 0). */
function tuneView(mount: Mount): Record<string, unknown> {
  return {
    default_lease_ttl: SYSTEM_LEASE_TTL_SECONDS,
    max_lease_ttl: SYSTEM_LEASE_TTL_SECONDS,
    force_no_cache: false,
    token_type: 'default-service',
    description: mount.description,
    options: Object.keys(mount.options).length > 0 ? mount.options : null,
  };
}
