/**
 * Secret engine mounts (Vault's sys/mounts). A mount has a path ending in '/', a type, and a stable UUID that
 * ciphertexts are bound to (so data cannot be moved between mounts, even by renaming one).
 */
export type MountType = string;

/**
 * What a mount table accepts, given by the module registry (src/server/modules.ts): the mounts domain knows no engine.
 */
export interface MountTypeCatalog {
  /**
   * The canonical type and preset options for a type name given at enable ('kv-v2' is 'kv' with version "2");
   * undefined for a type no module provides.
   */
  lookup(name: string): { type: MountType; preset: Readonly<Record<string, string>> } | undefined;
  /** Defaults merged under the caller's options, then the module's validation (`previous` set at tune). */
  normalizeOptions(
    type: MountType,
    options: Record<string, string>,
    previous?: Readonly<Record<string, string>>,
  ): Record<string, string>;
  /** A type that lives at one fixed path and can be neither enabled nor disabled through the API (token). */
  isFixed(type: MountType): boolean;
}

export interface Mount {
  /** e.g. 'secret/' — always ends with '/', never starts with one. */
  path: string;
  type: MountType;
  uuid: string;
  /** The accessor Vault shows in sys/mounts (e.g. 'kv_1a2b3c4d'; auth mounts 'auth_approle_1a2b3c4d'). */
  accessor: string;
  description: string;
  /** Engine options: for kv, { version: '1' | '2' }. */
  options: Record<string, string>;
  /** Vault's mount config beyond lease TTLs (absent: nothing tuned). */
  config?: MountConfig;
  /** Epoch milliseconds. */
  createdAt: number;
}

/** The parts of Vault's mount `config` Strongroom stores and applies. */
export interface MountConfig {
  /** Vault's `user_lockout_config` of an auth mount (sys/auth/<path>/tune); absent until tuned. */
  userLockout?: UserLockoutTuning;
}

/**
 * An auth mount's user lockout settings as tuned. 0 means "not set here: use the default" for the three numbers, as
 * Vault stores them; the defaults and the effective values are the lockout domain's (src/auth/lockout/).
 */
export interface UserLockoutTuning {
  threshold: number;
  durationSeconds: number;
  counterResetSeconds: number;
  disable: boolean;
}

export interface MountService {
  /**
   * Throws 'invalid' for a bad or reserved path (sys/, auth/, cubbyhole/, identity/ in the secrets table), an
   * overlapping mount, or a type the catalog does not know (or one that is fixed).
   */
  enable(input: {
    path: string;
    type: MountType;
    description?: string;
    options?: Record<string, string>;
  }): Promise<Mount>;
  /** Removes the mount and every record of its engine (engines register a purge hook). */
  disable(path: string): Promise<void>;
  /**
   * Merges `options` into the mount's engine options (validated as at enable; a kv mount may go from version 1 to 2,
   * never back), sets a new description when given, and replaces the config sections `config` gives. Returns the mount as it now is and the names that changed
   * ('description' among them). 'not_found' for no such mount.
   */
  tuneOptions(
    path: string,
    options: Record<string, string>,
    description?: string,
    config?: MountConfig,
  ): Promise<{ mount: Mount; changed: string[] }>;
  list(): Promise<Mount[]>;
  /**
   * Drops the in-memory table so the next lookup reads the database: another request thread of this process changed
   * it (server/thread-coherence.ts). Local changes need no call.
   */
  forgetCached(): void;
  /**
   * Records the mount of a module that exists once at a fixed, reserved path (cubbyhole/) when it is not recorded
   * yet; idempotent, and safe when several processes start at once. Its type is one the catalog calls fixed.
   */
  ensureFixed(input: { path: string; type: MountType; description: string }): Promise<void>;
  /** Longest mount whose path prefixes `requestPath` (e.g. 'secret/data/app' → 'secret/'); null when none. Cached. */
  resolve(requestPath: string): Promise<{ mount: Mount; rest: string } | null>;
  onDisable(type: MountType, purge: (mount: Mount) => Promise<void>): void;
}
