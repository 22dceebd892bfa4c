/**
 * Audit entries follow Vault's shape so existing tooling can read them. Anything secret (tokens, secret values,
 * response data) is replaced by `hmac-sha256:<hex>` with the store's audit HMAC key before it leaves the service.
 */
export interface AuditAuth {
  accessor?: string;
  display_name?: string;
  policies?: string[];
  token_type?: string;
  auth_method?: string;
  /** The identity entity the token acts for (Vault's auth.entity_id); absent for tokens without one. */
  entity_id?: string;
  /** e.g. service_account_namespace, service_account_name for Kubernetes logins. */
  metadata?: Record<string, string>;
}

export interface AuditRequest {
  id: string;
  operation: string; // create | read | update | patch | delete | list
  path: string;
  mount_type?: string;
  remote_address?: string;
  /** Request body; values are HMAC'd before writing. */
  data?: Record<string, unknown>;
  client_token?: string; // HMAC'd
  /** Keys of `data` that stay clear (SystemAudit's `clearData`); consumed by the redactor, never written. */
  clear_data?: readonly string[];
}

export interface AuditResponse {
  status: number;
  data?: Record<string, unknown>; // HMAC'd, except the scalars named by clear_data
  /**
   * Dotted paths into `data` whose values are known not to be secret (a KV version's number and timestamps), declared
   * by the backend that produced the data. Only scalar values (string, number, boolean, null) at exactly these paths
   * stay clear; anything else there is HMAC'd as usual. The redactor consumes this field: it is never written.
   */
  clear_data?: readonly string[];
  auth?: { client_token?: string; accessor?: string; policies?: string[] };
  /** A dynamic credential's lease (Vault's `secret` block): the id, ttl and renewable in clear, never the data. */
  secret?: { lease_id: string; ttl: number; renewable: boolean };
  /** A wrapped response's wrapping token: token and accessors HMAC'd, ttl, creation_time and creation_path clear. */
  wrap_info?: {
    token: string;
    accessor: string;
    ttl: number;
    creation_time: string;
    creation_path: string;
    wrapped_accessor?: string;
  };
}

export interface AuditEvent {
  type: 'request' | 'response';
  time: string; // RFC 3339 with ms
  auth?: AuditAuth;
  request: AuditRequest;
  response?: AuditResponse;
  error?: string;
}

/** As written: the event plus its place in the hash chain. */
export interface AuditRecord extends AuditEvent {
  seq: number;
  prev_hash: string;
  hash: string;
}

export interface AuditSinkInfo {
  path: string; // the sys/audit path, e.g. 'file/'
  type: 'file' | 'database';
  description: string;
  options: Record<string, string>;
  /** A device of this process only (the server's --audit-file): not recorded in the database, not disabled by API. */
  local?: boolean;
}

export interface AuditQuery {
  path?: string; // exact or prefix with trailing '*'
  accessor?: string;
  displayName?: string;
  operation?: string;
  since?: number; // epoch ms
  until?: number;
  limit?: number;
}

export interface AuditService {
  /**
   * Writes an event to every enabled sink with group commit. Resolves once durable everywhere; rejects when any
   * sink fails, so the caller fails the request (fail closed).
   */
  log(event: AuditEvent): Promise<void>;
  /**
   * Writes events as consecutive entries in one group-commit batch per sink (one fsync for all of them), e.g. the
   * request and response entries of a read. Same guarantees as `log`: resolves once all are durable everywhere.
   */
  logAll(events: readonly AuditEvent[]): Promise<void>;
  /** Vault's sys/audit-hash: the HMAC the log would show for `input`. */
  hash(input: string): string;
  enable(info: AuditSinkInfo): Promise<void>;
  disable(path: string): Promise<void>;
  list(): Promise<AuditSinkInfo[]>;
  query(query: AuditQuery): Promise<AuditRecord[]>;
  /** Flushes queued entries and closes sinks (SIGTERM). */
  close(): Promise<void>;
  queueDepth(): number;
  /** How many devices are open. With none, entries are accepted and written nowhere (as in Vault). */
  deviceCount(): number;
  /** False once the service can no longer write (closed, or its audit thread died): the store then reopens it. */
  healthy(): boolean;
  /** This process's chain id in the database device (random per process unless configured). */
  readonly nodeId: string;
  /** Log rotation (SIGHUP): every file device reopens its path; a new file continues the chain (see file-sink.ts). */
  reopen(): Promise<void>;
  /** Verifies the database device's chain for one node, or all nodes when omitted. */
  verifyDatabaseChain(nodeId?: string): Promise<VerifyResult>;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  /** 1-based line of the first bad entry. */
  badLine?: number;
  reason?: string;
  /** Database verification: the node whose chain was checked (or failed). */
  nodeId?: string;
  /** On success, where the verified chain starts and ends — for stitching rotated files or comparing devices. */
  firstSeq?: number;
  firstPrevHash?: string;
  lastSeq?: number;
  lastHash?: string;
}
