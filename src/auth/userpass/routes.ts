import { definePath, type Backend, type RequestContext } from '../../logical/backend.js';
import { f, type FieldsInput } from '../../logical/schema.js';
import { ROLE_TOKEN_FIELDS, refuseUnenforcedTokenFields, roleTokenSettings } from '../role-token-fields.js';
import { loginReply } from '../token/views.js';
import { USERNAME_PATTERN, type UserpassService, type UserpassUser, type UserpassUserInput } from './types.js';

/** Any case in the URL; the service lower-cases (Vault), and the ACL judges the lower-cased path (see aclPath). */
const USER = `(?<username>${USERNAME_PATTERN})`;

/**
 * Vault's userpass auth method at auth/<mount>/.
 * https://developer.hashicorp.com/vault/api-docs/auth/userpass
 */
export function createUserpassBackend(deps: { userpass: UserpassService }): Backend {
  const { userpass } = deps;
  return {
    mountType: 'userpass',
    paths: [
      definePath({
        name: 'userpass.login',
        pattern: `login/${USER}`,
        unauthenticated: true,
        rateLimited: true,
        synopsis: 'Logs in with a username and password.',
        fields: { password: f.string('The password of the user.') },
        operations: {
          update: async (ctx) =>
            loginReply(
              await userpass.login(ctx.params.username!, ctx.input.password ?? '', {
                remoteAddress: ctx.remoteAddress,
                ...(ctx.mfaCredentials ? { mfaCredentials: ctx.mfaCredentials } : {}),
                ...(ctx.mount?.config?.userLockout ? { lockout: ctx.mount.config.userLockout } : {}),
              }),
            ),
        },
      }),
      {
        name: 'userpass.users',
        pattern: 'users/?',
        synopsis: 'Lists the users.',
        operations: { list: async () => ({ data: { keys: await userpass.listUsers() } }) },
      },
      definePath({
        name: 'userpass.user.password',
        pattern: `users/${USER}/password`,
        aclPath: lowerCasedUser,
        synopsis: "Changes a user's password (a user may change their own, given update on this path).",
        fields: { password: f.string('The new password.') },
        operations: {
          update: async (ctx) => void (await userpass.setPassword(ctx.params.username!, ctx.input.password ?? '')),
        },
      }),
      definePath({
        name: 'userpass.user.policies',
        pattern: `users/${USER}/policies`,
        aclPath: lowerCasedUser,
        synopsis: "Replaces a user's token policies.",
        fields: {
          token_policies: f.stringList('Policies of the tokens the user gets.'),
          policies: f.stringList('Older name of token_policies.'),
        },
        operations: {
          update: async (ctx) => {
            const given = ctx.input.token_policies ?? ctx.input.policies ?? [];
            // As Vault: the older name is remembered only when it alone was given.
            const legacy = ctx.input.token_policies === undefined && ctx.input.policies !== undefined;
            await userpass.setPolicies(ctx.params.username!, given, legacy);
          },
        },
      }),
      definePath({
        name: 'userpass.user',
        pattern: `users/${USER}`,
        aclPath: lowerCasedUser,
        synopsis: 'A user: their password and the tokens their logins get.',
        fields: USER_FIELDS,
        existenceCheck: (ctx) => userpass.userExists(ctx.params.username!),
        operations: {
          read: async (ctx) => {
            const user = await userpass.readUser(ctx.params.username!);
            return user ? { data: userView(user) } : undefined;
          },
          create: async (ctx) => void (await userpass.writeUser(ctx.params.username!, userInput(ctx.input))),
          update: async (ctx) => void (await userpass.writeUser(ctx.params.username!, userInput(ctx.input))),
          delete: async (ctx) => void (await userpass.deleteUser(ctx.params.username!)),
        },
      }),
    ],
  };
}

/**
 * The ACL judges the user in the form it is stored (lower case), whatever case the request used: a deny on
 * users/admin must hold for users/ADMIN too.
 */
function lowerCasedUser(ctx: RequestContext): string {
  const prefix = ctx.path.slice(0, ctx.path.length - ctx.rest.length);
  return prefix + ctx.rest.replace(/^users\/([^/]+)/, (_m, name: string) => `users/${name.toLowerCase()}`);
}

const USER_FIELDS = {
  password: f.string('The password (required when the user is created; never shown back).'),
  ...ROLE_TOKEN_FIELDS,
};

function userInput(input: FieldsInput<typeof USER_FIELDS>): UserpassUserInput {
  refuseUnenforcedTokenFields(input);
  const token = roleTokenSettings(input);
  const out: UserpassUserInput = {};
  if (input.password !== undefined) out.password = input.password;
  if (token.tokenPolicies !== undefined) out.tokenPolicies = token.tokenPolicies;
  if (token.tokenTtl !== undefined) out.tokenTtl = token.tokenTtl;
  if (token.tokenMaxTtl !== undefined) out.tokenMaxTtl = token.tokenMaxTtl;
  if (token.tokenExplicitMaxTtl !== undefined) out.tokenExplicitMaxTtl = token.tokenExplicitMaxTtl;
  if (token.tokenPeriod !== undefined) out.tokenPeriod = token.tokenPeriod;
  if (input.token_num_uses !== undefined) out.tokenNumUses = input.token_num_uses;
  if (token.tokenBoundCidrs !== undefined) out.tokenBoundCidrs = token.tokenBoundCidrs;
  // Vault's tokenutil.UpgradeValue: the older name is kept only when it alone was given; the new name clears it.
  const legacyOf = (newer: unknown, older: unknown) =>
    newer !== undefined ? false : older !== undefined ? true : undefined;
  out.legacy = {
    ...defined('policies', legacyOf(input.token_policies, input.policies)),
    ...defined('ttl', legacyOf(input.token_ttl, input.ttl)),
    ...defined('maxTtl', legacyOf(input.token_max_ttl, input.max_ttl)),
    ...defined('boundCidrs', legacyOf(input.token_bound_cidrs, input.bound_cidrs)),
  };
  return out;
}

function defined<K extends string>(key: K, value: boolean | undefined): Partial<Record<K, boolean>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, boolean>);
}

/** Vault's user read: every token_* field, the older names only when the user was written with them; no password. */
function userView(user: UserpassUser): Record<string, unknown> {
  return {
    token_bound_cidrs: user.tokenBoundCidrs,
    token_explicit_max_ttl: user.tokenExplicitMaxTtl,
    token_max_ttl: user.tokenMaxTtl,
    token_no_default_policy: false,
    token_num_uses: user.tokenNumUses,
    token_period: user.tokenPeriod,
    token_policies: user.tokenPolicies,
    token_ttl: user.tokenTtl,
    token_type: 'default',
    ...(user.legacy.policies ? { policies: user.tokenPolicies } : {}),
    ...(user.legacy.ttl && user.tokenTtl > 0 ? { ttl: user.tokenTtl } : {}),
    ...(user.legacy.maxTtl && user.tokenMaxTtl > 0 ? { max_ttl: user.tokenMaxTtl } : {}),
    ...(user.legacy.boundCidrs && user.tokenBoundCidrs.length > 0 ? { bound_cidrs: user.tokenBoundCidrs } : {}),
  };
}
