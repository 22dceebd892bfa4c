/**
 * Vault's cubbyhole engine: a private key/value space per token, mounted at `cubbyhole/` always. Each token sees
 * only its own cubbyhole, found by the token's accessor (its stable internal handle, never the token itself); the
 * contents die with the token (revocation, expiry, tidy). Values are sealed by the barrier, bound to their owner
 * and path, so a row copied to another token or path does not open.
 *
 * Response wrapping keeps a wrapped response in the wrapping token's cubbyhole (see src/wrapping).
 */
export interface CubbyholeService {
  /** The data at `path`, or undefined when there is none. */
  read(owner: string, path: string): Promise<Record<string, unknown> | undefined>;
  /** Creates or replaces. 'invalid' for an empty path or data that is not a non-empty JSON object. */
  write(owner: string, path: string, data: Record<string, unknown>): Promise<void>;
  /** Keys directly under `prefix` ('' or ending in '/'), sorted; folders end in '/'. */
  list(owner: string, prefix: string): Promise<string[]>;
  /** Idempotent. */
  delete(owner: string, path: string): Promise<void>;
  /** Reads and deletes `path` atomically: of several concurrent takes, exactly one gets the data. */
  take(owner: string, path: string): Promise<Record<string, unknown> | undefined>;
  /** Deletes every cubbyhole of these owners (their tokens were revoked). Returns the entries removed. */
  purge(owners: readonly string[]): Promise<number>;
  /**
   * Deletes the cubbyholes of owners not in `liveOwners`, left only written before `before` (epoch ms): the tidy
   * backstop for a revocation whose purge failed. A token created after the snapshot of live owners writes after
   * `before`, so it is never mistaken for a dead one.
   */
  purgeAllExcept(liveOwners: ReadonlySet<string>, before: number): Promise<number>;
}

/** Largest value a cubbyhole entry may hold (bytes of JSON); a wrapped response is one entry. */
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024;
