import type { Mount } from '../../mounts/types.js';
import { normalizeMountPath } from '../../mounts/paths.js';
import { invalid } from '../../shared/errors.js';
import { z } from 'zod';
import { definePath, type BackendPath, type RequestContext } from '../../logical/backend.js';
import { f, parseFields, parseSeconds } from '../../logical/schema.js';
import type { HttpDeps } from '../deps.js';
import { USER_LOCKOUT_CONFIG_FIELD, lockoutView, tunedLockout } from './lockout-config.js';
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

  /** sys/auth/<path>/tune and sys/mounts/auth/<path>/tune: one path, two places. */
  const tunePath = (declaration: Pick<BackendPath, 'name' | 'pattern' | 'sudo' | 'aclPath'>): BackendPath =>
    definePath({
      ...declaration,
      synopsis: "An auth method's tunable settings.",
      fields: TUNE_FIELDS,
      operations: {
        read: async (ctx) => ({ data: tuneView(await find(ctx.params.path!)) }),
        update: async (ctx) => {
          const mount = await find(ctx.params.path!);
          // Lease TTLs per auth mount would cap the tokens its logins issue; Strongroom does not apply them, so setting
          // one is refused rather than silently ignored (0 and -1, Vault's "system default", are accepted).
          for (const field of ['default_lease_ttl', 'max_lease_ttl'] as const) {
            if ((ctx.input[field] ?? 0) > 0)
              throw invalid(`${field} is not supported on auth mounts: it would not be enforced`);
          }
          const userLockout = tunedLockout(mount, ctx.input.user_lockout_config);
          await authMounts.tuneOptions(
            mount.path,
            ctx.input.options ?? {},
            ctx.input.description,
            userLockout ? { userLockout } : undefined,
          );
        },
      },
    });

  return [
    {
      name: 'sys.auth.list',
      pattern: 'auth/?',
      synopsis: 'Lists the enabled auth methods.',
      operations: {
        read: async () => {
          const out: Record<string, unknown> = {};
          for (const mount of await authMounts.list()) out[mount.path] = authView(mount);
          return { data: out };
        },
      },
    },
    tunePath({
      name: 'sys.auth.tune',
      pattern: 'auth/(?<path>.+)/tune',
      sudo: true,
      aclPath: canonicalAclPath('sys/auth/', '/tune'),
    }),
    // The same tuning, where the vault CLI sends it (`vault auth tune` writes sys/mounts/auth/<path>/tune).
    tunePath({
      name: 'sys.mounts.auth.tune',
      pattern: 'mounts/auth/(?<path>.+)/tune',
      aclPath: canonicalAclPath('sys/mounts/auth/', '/tune'),
    }),
    definePath({
      name: 'sys.auth',
      pattern: 'auth/(?<path>.+?)/?',
      sudo: true,
      aclPath: canonicalAclPath('sys/auth/', ''),
      synopsis: 'Enables, reads or disables an auth method.',
      fields: ENABLE_FIELDS,
      operations: {
        read: async (ctx) => ({ data: authView(await find(ctx.params.path!)) }),
        update: async (ctx) => {
          const { type, description } = ctx.input;
          // The config's own fields are read the way Vault names them in its errors: by their name inside config.
          const config = parseFields(CONFIG_LEASE_FIELDS, ctx.input.config ?? {});
          for (const field of ['default_lease_ttl', 'max_lease_ttl'] as const) {
            if ((config[field] ?? 0) > 0)
              throw invalid(`config.${field} is not supported on auth mounts: it would not be enforced`);
          }
          const options = ctx.input.options ?? {};
          await authMounts.enable({
            path: ctx.params.path!,
            type,
            options,
            ...(description !== undefined ? { description } : {}),
          });
        },
        delete: async (ctx) => {
          await authMounts.disable(ctx.params.path!);
        },
      },
    }),
  ];
}

/** A lease TTL as a duration; -1 (Vault's "system default", as the vault CLI sends it) reads as not given. */
function leaseTtl(description: string) {
  const meta = { type: 'string', format: 'duration', description };
  return z
    .unknown()
    .transform((value, ctx) => {
      if (value === -1 || value === '-1') return undefined;
      const seconds = parseSeconds(value);
      if (seconds === undefined || typeof seconds === 'number') return seconds;
      ctx.addIssue({
        code: 'custom',
        message: 'field "{field}" must be a duration such as "1h" or a number of seconds',
      });
      return z.NEVER;
    })
    .meta(meta)
    .optional()
    .meta(meta);
}

const TUNE_FIELDS = {
  default_lease_ttl: leaseTtl('Refused when set: lease TTLs of auth mounts are not applied (0 and -1 are accepted).'),
  max_lease_ttl: leaseTtl('Refused when set: lease TTLs of auth mounts are not applied (0 and -1 are accepted).'),
  options: f.stringMap('Options of the auth method.'),
  description: f.string('A human-friendly description of the mount.'),
  user_lockout_config: USER_LOCKOUT_CONFIG_FIELD,
};

const ENABLE_FIELDS = {
  type: f.requiredString('The auth method: approle, kubernetes or userpass.'),
  description: f.string('A human-friendly description of the mount.'),
  config: f.object("Vault's mount configuration; lease TTLs are refused when set (they would not be applied)."),
  options: f.stringMap('Options of the auth method.'),
};

const CONFIG_LEASE_FIELDS = {
  default_lease_ttl: f.duration('Default lease TTL.'),
  max_lease_ttl: f.duration('Maximum lease TTL.'),
};

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
    config: {
      default_lease_ttl: 0,
      max_lease_ttl: 0,
      force_no_cache: false,
      token_type: 'default-service',
      ...withLockout(mount),
    },
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
    ...lockoutView(mount),
  };
}

/** sys/auth's `config` carries a tuned lockout as Vault's `user_lockout_config`. */
function withLockout(mount: Mount): Record<string, unknown> {
  const view = lockoutView(mount);
  return view ? { user_lockout_config: view } : {};
}
