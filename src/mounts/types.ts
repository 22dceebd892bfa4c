/**
 * Secret engine mounts (Vault's sys/mounts). A mount has a path ending in '/', a type, and a stable UUID that
 * ciphertexts are bound to (so data cannot be moved between mounts, even by renaming one).
 */
export type MountType = 'kv' | 'transit';

export interface Mount {
  /** e.g. 'secret/' — always ends with '/', never starts with one. */
  path: string;
  type: MountType;
  uuid: string;
  /** The accessor Vault shows in sys/mounts (e.g. 'kv_1a2b3c4d'). */
  accessor: string;
  description: string;
  /** Engine options: for kv, { version: '1' | '2' }. */
  options: Record<string, string>;
  /** Epoch milliseconds. */
  createdAt: number;
}

export interface MountService {
  /** Throws 'invalid' for a bad or reserved path (sys/, auth/, cubbyhole/, identity/) or an overlapping mount. */
  enable(input: { path: string; type: MountType; description?: string; options?: Record<string, string> }): Promise<Mount>;
  /** Removes the mount and every record of its engine (engines register a purge hook). */
  disable(path: string): Promise<void>;
  /**
   * Merges `options` into the mount's engine options (validated as at enable; a kv mount may go from version 1 to 2,
   * never back). Returns the mount as it now is and the option names that changed. 'not_found' for no such mount.
   */
  tuneOptions(path: string, options: Record<string, string>): Promise<{ mount: Mount; changed: string[] }>;
  list(): Promise<Mount[]>;
  /** Longest mount whose path prefixes `requestPath` (e.g. 'secret/data/app' → 'secret/'); null when none. Cached. */
  resolve(requestPath: string): Promise<{ mount: Mount; rest: string } | null>;
  onDisable(type: MountType, purge: (mount: Mount) => Promise<void>): void;
}
