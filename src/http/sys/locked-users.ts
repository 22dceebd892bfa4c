import type { UserLockout } from '../../auth/lockout/types.js';
import { definePath, type BackendPath } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';

/**
 * Vault's sys/locked-users (1.13+): who user lockout is holding out now, and unlocking one early. Listing needs read
 * on sys/locked-users; unlocking needs sudo, as in Vault. Strongroom has one namespace, Vault's root ("").
 * https://developer.hashicorp.com/vault/api-docs/system/user-lockout
 */
export function lockedUserPaths(deps: { userLockout: Pick<UserLockout, 'listLocked' | 'unlock'> }): BackendPath[] {
  const { userLockout } = deps;
  return [
    definePath({
      name: 'sys.locked-users',
      pattern: 'locked-users',
      synopsis: 'Lists the users locked out after too many failed logins, by auth mount.',
      queryFields: { mount_accessor: f.string('Only the users of this auth mount (its accessor).') },
      operations: {
        read: async (ctx) => {
          const accessor = ctx.input.mount_accessor || undefined;
          const locked = await userLockout.listLocked(accessor);
          const byAccessor = new Map<string, string[]>();
          if (accessor) byAccessor.set(accessor, []);
          for (const user of locked) {
            const names = byAccessor.get(user.mountAccessor) ?? [];
            names.push(user.name);
            byAccessor.set(user.mountAccessor, names);
          }
          const mountAccessors = [...byAccessor]
            .map(([mount_accessor, names]) => ({ mount_accessor, counts: names.length, alias_identifiers: names }))
            .sort((a, b) => b.counts - a.counts || a.mount_accessor.localeCompare(b.mount_accessor));
          return {
            data: {
              by_namespace: [
                { namespace_id: 'root', namespace_path: '', counts: locked.length, mount_accessors: mountAccessors },
              ],
              total: locked.length,
            },
          };
        },
      },
    }),
    {
      name: 'sys.locked-users.unlock',
      pattern: 'locked-users/(?<mount_accessor>[^/]+)/unlock/(?<alias_identifier>.+)',
      sudo: true,
      synopsis: 'Unlocks a locked user (succeeds when the user is not locked).',
      operations: {
        update: async (ctx) => {
          // Counts are kept under the lower-cased name (userpass usernames are case-insensitive, as Vault's).
          await userLockout.unlock(ctx.params.mount_accessor!, ctx.params.alias_identifier!.toLowerCase());
        },
      },
    },
  ];
}
