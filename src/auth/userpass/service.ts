import { encodeContext } from '../../crypto/context.js';
import type { Barrier } from '../../crypto/types.js';
import { forbidden, invalid } from '../../shared/errors.js';
import type { Storage } from '../../storage/database.js';
import { anyCidrContains, formatCidr, parseCidr } from '../cidr.js';
import { lockoutSettings, type LockoutMount, type UserLockout } from '../lockout/types.js';
import type { LoginService } from '../login.js';
import { roleHardLimit } from '../role-token-fields.js';
import type { AuthMountRef } from '../types.js';
import { burnPasswordCheck, hashPassword, passwordProblem, verifyPassword, type ScryptParams } from './password.js';
import { createUserpassRepository, type StoredUser } from './repository.js';
import { USERNAME, type UserpassService, type UserpassUser, type UserpassUserInput } from './types.js';

export interface UserpassDeps {
  storage: Pick<Storage, 'db'>;
  /** Seals password hashes at rest. */
  barrier: Pick<Barrier, 'encrypt' | 'decryptWithRefresh'>;
  logins: Pick<LoginService, 'complete'>;
  lockout: UserLockout;
  mount: AuthMountRef;
  clock?: () => number;
  /** Tests only: cheaper scrypt parameters for new hashes (stored with each hash, so verification follows). */
  scrypt?: ScryptParams;
}

/** Vault's one answer for an unknown user and a wrong password alike. */
const REFUSED = 'invalid username or password';

type Settings = Omit<UserpassUser, 'username'>;
const DEFAULTS: Settings = {
  tokenPolicies: [],
  tokenTtl: 0,
  tokenMaxTtl: 0,
  tokenExplicitMaxTtl: 0,
  tokenPeriod: 0,
  tokenNumUses: 0,
  tokenBoundCidrs: [],
  legacy: { policies: false, ttl: false, maxTtl: false, boundCidrs: false },
};

/** Vault's userpass auth method on one mount. https://developer.hashicorp.com/vault/api-docs/auth/userpass */
export function createUserpassService(deps: UserpassDeps): UserpassService {
  const { mount } = deps;
  const repo = createUserpassRepository(deps.storage, mount.uuid);
  const clock = deps.clock ?? Date.now;
  // Bound to the mount and the user: a hash copied onto another user's row (or another mount's) does not open.
  const hashContext = (username: string) => encodeContext('auth', 'userpass', mount.uuid, username, 'password');

  async function sealedHash(username: string, password: string): Promise<Buffer> {
    const problem = passwordProblem(password);
    if (problem) throw invalid(problem);
    const hash = await hashPassword(password, deps.scrypt);
    return deps.barrier.encrypt(Buffer.from(hash, 'utf8'), hashContext(username));
  }

  async function load(username: string): Promise<{ stored: StoredUser; user: UserpassUser } | undefined> {
    const stored = await repo.read(username);
    if (!stored) return undefined;
    return { stored, user: { username, ...DEFAULTS, ...(JSON.parse(stored.definition) as Partial<Settings>) } };
  }

  async function save(username: string, passwordHash: Buffer, user: UserpassUser): Promise<void> {
    const { username: _name, ...settings } = user;
    void _name;
    await repo.write({ username, passwordHash, definition: JSON.stringify(settings) }, clock());
  }

  async function mustLoad(raw: string) {
    const username = checkUsername(raw);
    const found = await load(username);
    // Vault answers a password or policies change for nobody with "username does not exist".
    if (!found) throw invalid('username does not exist');
    return found;
  }

  return {
    async writeUser(raw, input) {
      const username = checkUsername(raw);
      const found = await load(username);
      if (!found && (input.password === undefined || input.password === '')) throw invalid('missing password');
      const user = merge(found?.user ?? { username, ...DEFAULTS }, input);
      const hash =
        input.password !== undefined
          ? await sealedHash(username, input.password)
          : (found!.stored.passwordHash as Buffer);
      await save(username, hash, user);
    },

    async readUser(raw) {
      return (await load(checkUsername(raw)))?.user;
    },

    userExists: async (raw) => repo.exists(checkUsername(raw)),

    listUsers: () => repo.list(),

    deleteUser: async (raw) => repo.remove(checkUsername(raw)),

    async setPassword(raw, password) {
      const { user } = await mustLoad(raw);
      await save(user.username, await sealedHash(user.username, password), user);
    },

    async setPolicies(raw, policies, legacyName) {
      const { stored, user } = await mustLoad(raw);
      await save(user.username, stored.passwordHash, {
        ...user,
        tokenPolicies: cleanPolicies(policies),
        legacy: { ...user.legacy, policies: legacyName },
      });
    },

    async login(raw, password, context) {
      const username = typeof raw === 'string' ? raw.toLowerCase() : '';
      if (!USERNAME.test(username)) throw invalid(REFUSED);
      if (typeof password !== 'string' || password === '') throw invalid('missing password');
      const lockMount: LockoutMount = {
        accessor: mount.accessor,
        path: mount.path,
        settings: lockoutSettings(context.lockout),
      };
      // Counted before the (slow) password check, so concurrent guesses cannot outrun the count.
      const attempt = await deps.lockout.attempt(lockMount, username);

      const found = await load(username);
      const matches = found
        ? await verifyPassword(
            password,
            (await deps.barrier.decryptWithRefresh(found.stored.passwordHash, hashContext(username))).toString('utf8'),
          )
        : await burnPasswordCheck(password);
      if (!found || !matches) {
        // Unknown names are counted too (Vault counts only existing users): a lockout that only real users could
        // reach would tell a guesser which usernames exist.
        await attempt.failed({ knownName: found !== undefined });
        throw invalid(REFUSED);
      }
      const { user } = found;
      // The password was right: the count starts again (or the login is refused, locked by a concurrent guess).
      await attempt.succeeded();
      if (user.tokenBoundCidrs.length > 0 && !anyCidrContains(user.tokenBoundCidrs, context.remoteAddress)) {
        throw forbidden('permission denied');
      }
      return deps.logins.complete({
        mount: { accessor: mount.accessor, path: mount.path, type: mount.type },
        alias: { name: username, metadata: { username } },
        token: {
          authMethod: 'userpass',
          path: `auth/${mount.path}login/${username}`,
          policies: user.tokenPolicies,
          ttl: user.tokenTtl,
          explicitMaxTtl: roleHardLimit(user.tokenMaxTtl, user.tokenExplicitMaxTtl),
          period: user.tokenPeriod,
          numUses: user.tokenNumUses,
          boundCidrs: user.tokenBoundCidrs,
          // Vault prefixes the method's display name with the mount path: 'userpass-alice' at auth/userpass/.
          displayName: `${mount.path.replaceAll('/', '-')}${username}`,
          meta: { username },
        },
        ...(context.mfaCredentials ? { mfaCredentials: context.mfaCredentials } : {}),
      });
    },
  };
}

/** Usernames are case-insensitive, stored lower-cased (Vault). */
function checkUsername(raw: string): string {
  const username = typeof raw === 'string' ? raw.toLowerCase() : '';
  if (!USERNAME.test(username))
    throw invalid(
      'username must be 1–128 letters, digits, "_", "." or "-", starting and ending with a letter or digit',
    );
  return username;
}

function cleanPolicies(policies: readonly string[]): string[] {
  return [...new Set(policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== ''))].sort();
}

function canonicalCidrs(list: readonly string[]): string[] {
  return [...new Set(list.filter((c) => c.trim() !== '').map((c) => formatCidr(parseCidr(c.trim()))))];
}

function merge(current: UserpassUser, input: UserpassUserInput): UserpassUser {
  const next: UserpassUser = { ...current, legacy: { ...current.legacy, ...withoutUndefined(input.legacy ?? {}) } };
  if (input.tokenPolicies !== undefined) next.tokenPolicies = cleanPolicies(input.tokenPolicies);
  if (input.tokenTtl !== undefined) next.tokenTtl = input.tokenTtl;
  if (input.tokenMaxTtl !== undefined) next.tokenMaxTtl = input.tokenMaxTtl;
  if (input.tokenExplicitMaxTtl !== undefined) next.tokenExplicitMaxTtl = input.tokenExplicitMaxTtl;
  if (input.tokenPeriod !== undefined) next.tokenPeriod = input.tokenPeriod;
  if (input.tokenNumUses !== undefined) next.tokenNumUses = input.tokenNumUses;
  if (input.tokenBoundCidrs !== undefined) next.tokenBoundCidrs = canonicalCidrs(input.tokenBoundCidrs);
  if (next.tokenMaxTtl > 0 && next.tokenTtl > next.tokenMaxTtl)
    throw invalid('"token_ttl" cannot be greater than "token_max_ttl"');
  return next;
}

function withoutUndefined<T extends object>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<T>;
}
