import type { LoginOutcome } from '../login.js';
import type { UserLockoutTuning } from '../../mounts/types.js';

/** Vault's userpass usernames (framework.GenericNameRegex), stored lower-cased as Vault does. */
export const USERNAME_PATTERN = '\\w(?:[\\w.-]{0,126}\\w)?';
export const USERNAME = new RegExp(`^${USERNAME_PATTERN}$`);

/** A user's token settings (durations in seconds), as Vault's tokenutil fields; what a login's token gets. */
export interface UserpassUser {
  username: string;
  tokenPolicies: string[];
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenExplicitMaxTtl: number;
  tokenPeriod: number;
  tokenNumUses: number;
  tokenBoundCidrs: string[];
  /**
   * Which of Vault's deprecated names the user was written with (`policies`, `ttl`, `max_ttl`, `bound_cidrs`), so a
   * read answers with them too, as Vault does.
   */
  legacy: { policies: boolean; ttl: boolean; maxTtl: boolean; boundCidrs: boolean };
}

/** A user write: settings left out keep their stored value (or the default on create). */
export interface UserpassUserInput {
  password?: string;
  tokenPolicies?: string[];
  tokenTtl?: number;
  tokenMaxTtl?: number;
  tokenExplicitMaxTtl?: number;
  tokenPeriod?: number;
  tokenNumUses?: number;
  tokenBoundCidrs?: string[];
  /** Which deprecated names this write used (true) or replaced with their token_* name (false). */
  legacy?: Partial<UserpassUser['legacy']>;
}

/** What a login request carries besides the credentials. */
export interface UserpassLoginContext {
  remoteAddress: string;
  /** Vault's X-Vault-MFA header values, passed on to the login service. */
  mfaCredentials?: readonly string[];
  /** The mount's user lockout tuning as the request found it (tune changes apply to the next login). */
  lockout?: UserLockoutTuning;
}

/** The userpass method on one mount. */
export interface UserpassService {
  /** Creates (password required) or updates a user. */
  writeUser(username: string, input: UserpassUserInput): Promise<void>;
  /** undefined when there is no such user. Never carries the password or its hash. */
  readUser(username: string): Promise<UserpassUser | undefined>;
  userExists(username: string): Promise<boolean>;
  listUsers(): Promise<string[]>;
  /** Deleting a user that is not there succeeds, as in Vault. */
  deleteUser(username: string): Promise<void>;
  setPassword(username: string, password: string): Promise<void>;
  setPolicies(username: string, policies: string[], legacyName: boolean): Promise<void>;
  /** Vault's login: lockout, password (constant answer for unknown users), CIDR binding, then the login service. */
  login(username: string, password: string, context: UserpassLoginContext): Promise<LoginOutcome>;
}
