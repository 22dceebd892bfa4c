/**
 * Contract of the operator domain: the provider interface every store backend implements, and the hook the
 * rollout engine (issue 7) plugs into.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { StrongroomError } from '../shared/errors.js';
import type { ExternalSecret, FindSpec, RemoteRef } from './api/external-secret.js';
import type { SecretStore } from './api/secret-store.js';

export type { RemoteRef, FindSpec, ExternalSecret, SecretStore };

/** One remote value. `version` is the provider's own (KV version, AWS VersionId, resourceVersion). */
export interface RemoteValue {
  value: Buffer;
  version?: string;
}
export interface RemoteMap {
  data: Record<string, Buffer>;
  version?: string;
}

/** A connected, authenticated client for one store (ESO's SecretsClient). */
export interface SecretsClient {
  /** One value: the whole secret (JSON-encoded when structured) or one `property` of it. */
  getSecret(ref: RemoteRef): Promise<RemoteValue>;
  /** A structured secret as a map of keys. */
  getSecretMap(ref: RemoteRef): Promise<RemoteMap>;
  /** Many secrets by path prefix and/or name regex; keys are paths relative to `find.path`. */
  findSecrets(find: FindSpec): Promise<Record<string, Buffer>>;
  /** Reachable and authenticated? Throws a ProviderError otherwise. */
  validate(): Promise<void>;
  close(): Promise<void>;
  /**
   * The same client (same connection and login) whose reads tell the store why they happen, so the store's audit
   * entry for the read names it. Providers whose store has no such channel leave it out.
   */
  withReadContext?(context: ReadContext): SecretsClient;
  /** Dynamic credentials and their leases (Vault-compatible stores only). */
  dynamic?(): DynamicSecretsClient;
}

/** One request for a fresh credential (a VaultDynamicSecret's spec, resolved). */
export interface GenerateRequest {
  path: string;
  method: 'GET' | 'POST' | 'PUT';
  parameters: Record<string, string>;
  resultType: 'Data' | 'Auth' | 'Raw';
}

export interface GeneratedCredential {
  data: Record<string, Buffer>;
  /** Absent when the store handed out no lease (e.g. a static role read without hold). */
  lease?: { leaseId: string; leaseDuration: number; renewable: boolean };
  /** Seconds the credential stays as it is when there is no lease (a static role's `ttl` to its next rotation). */
  ttl?: number;
}

/** The lease is unknown to the store (revoked, expired, or never existed). */
export class LeaseGoneError extends StrongroomError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'LeaseGoneError';
  }
}

export interface DynamicSecretsClient {
  generate(request: GenerateRequest): Promise<GeneratedCredential>;
  /** Returns the duration granted (seconds from now). Throws LeaseGoneError for a lease the store no longer has. */
  renew(leaseId: string, increment: number): Promise<{ leaseDuration: number; renewable: boolean }>;
  /** Idempotent: a lease that is already gone counts as revoked. */
  revoke(leaseId: string): Promise<void>;
}

/** Why a read happens when it is not an ordinary sync (a rollout reading an older version). Never secret. */
export interface ReadContext {
  purpose: 'rollback' | 'retry' | 'undo';
  /** `namespace/name` of the ExternalSecret. */
  externalSecret: string;
  /** The version being moved away from. */
  fromVersion?: string;
  /** A short reason in a person's words. */
  reason: string;
}

/** Reads a key of a Kubernetes Secret the store spec points at (auth material). */
export type SecretKeyReader = (ref: { name: string; key: string; namespace?: string }) => Promise<string>;

export interface ProviderContext {
  store: SecretStore;
  /** Namespace of the consumer; where unqualified secret refs are read from. */
  namespace: string;
  readSecretKey: SecretKeyReader;
  kubeConfig: KubeConfig;
  /**
   * The operator's `--ca-cert`: PEM CA certificate(s) a Vault-protocol store whose spec has no caBundle is verified
   * against, besides the system's roots. Given to store connections only, never process-wide.
   */
  storeCa?: Buffer;
  /** Counts a remote call (metrics; also what the dedup benchmark measures). */
  onCall?: (provider: string, operation: string) => void;
}

export type Provider = (ctx: ProviderContext) => Promise<SecretsClient>;

/** The remote secret does not exist: the reconciler applies `deletionPolicy`. */
export class RemoteNotFoundError extends StrongroomError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'RemoteNotFoundError';
  }
}

/** The store could not be reached or refused our credentials: never touch the target Secret. */
export class StoreUnavailableError extends StrongroomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', message, undefined, options);
    this.name = 'StoreUnavailableError';
  }
}

export interface SecretChange {
  externalSecret: ExternalSecret;
  secret: { metadata?: { name?: string; namespace?: string; resourceVersion?: string }; data?: Record<string, string> };
  /**
   * The remote version the Secret held before (undefined when the Secret was created) and the one it holds now, as
   * status.sync.remoteVersion records them ("3", or "key@3,other@7"); a data hash where the store has no versions.
   */
  previousVersion: string | undefined;
  newVersion: string;
  /**
   * The ExternalSecret as the operator's status write just left it (newest resourceVersion), when the write returned
   * it: the rollout engine starts from it rather than reading it again. `externalSecret` keeps the status from before.
   */
  current?: ExternalSecret;
}

/** Called after a target Secret's data changed. The rollout engine implements it; the default does nothing. */
export type OnSecretChanged = (change: SecretChange) => Promise<void> | void;
