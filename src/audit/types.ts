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
  /**
   * An identity of `data` given by the backend that produced it (a KV version's ciphertext digest and metadata):
   * equal keys mean equal data, so the redactor may reuse the redacted form it made for the same key (within one
   * key's life). Consumed by the redactor like clear_data: it is never written.
   */
  data_key?: string;
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
  /** auth.entity_id: the identity entity the caller's token acts for. */
  entityId?: string;
  /** Who, however given: a display name, an entity id or a token accessor (in clear or as its HMAC). */
  identity?: string;
  remoteAddress?: string;
  operation?: string;
  type?: 'request' | 'response';
  /** success: a response without error; error: any entry with an error (refused requests, failed responses). */
  outcome?: 'success' | 'error';
  since?: number; // epoch ms
  until?: number;
  limit?: number;
  /** The previous page's `nextCursor`: the entries after it, in the same order. */
  cursor?: string;
}

/** One page of a query's answer, newest first. `nextCursor` is there when more entries may follow. */
export interface AuditPage {
  entries: AuditRecord[];
  nextCursor?: string;
}

/**
 * A device's chain, checked on request (sys/audit/verify):
 *   intact       — every entry checked links and hashes, and the file matches where its anchor says it starts and ends
 *   broken       — `reason` and `badLine` name the first problem (see verify.ts)
 *   incomplete   — the time budget ran out after `entries` entries, all intact; the rest was not checked
 *   unverifiable — nothing kept to check (file_path=stdout or discard), or the file at the path is not the one the
 *                  device writes (moved by log rotation and not yet reopened)
 */
export interface DeviceVerification {
  path: string;
  type: 'file' | 'database';
  state: 'intact' | 'broken' | 'incomplete' | 'unverifiable';
  /** state === 'intact'. */
  ok: boolean;
  entries: number;
  reason?: string;
  badLine?: number;
  firstSeq?: number;
  lastSeq?: number;
  /** Database devices: the chain (server process) of the first problem. */
  nodeId?: string;
  /** File devices: the file and how many of its bytes were checked (its durable extent when the check began). */
  filePath?: string;
  bytes?: number;
  elapsedMs: number;
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
  /** `query` with paging: the entries and a cursor for the next page. */
  queryPage(query: AuditQuery): Promise<AuditPage>;
  /**
   * Verifies the chain of every open device, within `budgetMs` in all (default 10 s): file devices up to what they
   * have made durable, against where they start and the last entry they made durable (what their anchor records);
   * the database device, every node's chain. One verification runs at a time.
   */
  verifyDevices(options?: { budgetMs?: number }): Promise<DeviceVerification[]>;
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
  /** No problem found in what was checked (with `complete: false`, only the first `entries` were). */
  ok: boolean;
  /** False when the walk stopped at its deadline before the end of the chain; absent when it reached the end. */
  complete?: boolean;
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
