/**
 * The rollout engine's contract with the operator: the hook it calls after writing a new version into a Secret,
 * the gate it asks before syncing, and the one provider capability rollback needs.
 */
import type { ReadContext } from '../types.js';
import type { Json } from './cluster.js';

/** What the operator passes to `onSecretChanged` after it wrote a new remote version into the target Secret. */
export interface SecretChangedEvent {
  /** The ExternalSecret as read (metadata.namespace/name are what matter). */
  externalSecret: Json;
  /** The Secret as written. */
  secret: Json;
  /**
   * The ExternalSecret as the operator's status write left it, when known: the engine starts from it instead of
   * reading it again (`externalSecret` keeps the status from before that write, which the event's versions refer to).
   */
  current?: Json;
  previousVersion?: string;
  newVersion: string;
}

/** Why the engine reads a version from the store; a provider carries it into its request so the store's audit shows it. */
export type VersionReadContext = ReadContext;

/**
 * Reads, from the store, the Secret data an ExternalSecret produces at one remote version (base64 values, as a
 * Secret holds them). Old versions are never kept in the cluster: rollback, retry and undo always come back here.
 */
export interface VersionSource {
  dataAt(externalSecret: Json, version: string, context: VersionReadContext): Promise<Record<string, string>>;
}

/** Control annotations people (and `strongroom rollout …`) put on an ExternalSecret. */
export const PAUSE_ANNOTATION = 'strongroom.io/rollout-paused';
export const ABORT_ANNOTATION = 'strongroom.io/rollout-abort';
export const RETRY_ANNOTATION = 'strongroom.io/rollout-retry';
/** Value `<version>/<request id>`: roll out that older version on purpose. */
export const UNDO_ANNOTATION = 'strongroom.io/rollout-undo';
