import type { TokenInfo } from '../auth/types.js';
import type { IssuedLease } from '../leases/types.js';
import type { Mount } from '../mounts/types.js';
import type { Capability } from '../policy/types.js';
import { parseFields, type FieldSet, type FieldsInput } from './schema.js';

/**
 * Vault-style logical backends: an engine declares its paths as data, and one router finds the mount, checks the
 * ACL for the operation, then dispatches. Handlers stay thin: they translate to a domain service call and back.
 *
 * Operation mapping (as Vault): GET → read (or list with ?list=true), LIST → list, DELETE → delete,
 * PATCH → patch, POST/PUT → create when the path's existenceCheck says the target does not exist, else update
 * (paths without an existenceCheck are always 'update').
 */
export type Operation = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list';

export interface RequestContext {
  operation: Operation;
  /** Full logical path after /v1/, e.g. 'secret/data/app/db'. */
  path: string;
  /** For mounted backends: the path inside the mount ('data/app/db'); otherwise equals `path`. */
  rest: string;
  /** Named groups captured by the matched pattern. */
  params: Record<string, string>;
  /** JSON body for writes; query parameters for reads and lists. Raw: handlers of declared paths read `input`. */
  data: Record<string, unknown>;
  /**
   * The operation's declared fields, validated and coerced by the pipeline after the ACL check (see BackendPath.fields);
   * equal to `data` on a path that declares none. Typed per path through `definePath`.
   */
  input: Record<string, unknown>;
  query: Record<string, string>;
  /** The authenticated caller; null only on unauthenticated paths. */
  token: TokenInfo | null;
  mount: Mount | null;
  remoteAddress: string;
  /**
   * Vault's single-phase login MFA: the `X-Vault-MFA` header values ("<method name or id>:<passcode>"), for login
   * paths to pass to `logins.complete`. Absent when none were sent.
   */
  mfaCredentials?: readonly string[];
  requestId: string;
  /**
   * Whether the caller holds `capability` on `path` (default: the path the pipeline checked this request against),
   * answered by the same ACL the pipeline enforces: the root policy holds everything, a request without a token
   * nothing. For rules that depend on more than the operation's own capability, such as Vault's "root or sudo"
   * token options, so handlers never evaluate policies themselves.
   */
  can(capability: Exclude<Capability, 'deny'>, path?: string): Promise<boolean>;
  /**
   * The token the caller presented, only on paths that declare `receivesOwnToken` (lookup-self answers with its own
   * `id`, as Vault does); undefined everywhere else, so no other handler can log, store or echo it.
   */
  ownToken?: string;
  /** Whether the caller's ACL grants anything under `prefix` (Vault's mount-access check); false without a token. */
  canReachUnder(prefix: string): Promise<boolean>;
  /**
   * The response wrapping the caller asked for (X-Vault-Wrap-TTL), already validated; undefined when none. The
   * pipeline wraps the handler's response itself; only sys/wrapping/wrap, which exists to be wrapped, looks at it.
   */
  wrap?: WrapRequest;
}

/** A validated response-wrapping request. */
export interface WrapRequest {
  /** Seconds, > 0. */
  ttl: number;
}

/** Vault's `wrap_info`: the single-use token that holds a wrapped response, shown in place of the response. */
export interface WrapInfo {
  token: string;
  accessor: string;
  /** Seconds. */
  ttl: number;
  /** Epoch ms. */
  creationTime: number;
  creationPath: string;
  /** The accessor of a token the wrapped response carries (logins, token creation). */
  wrappedAccessor?: string;
}

export interface HandlerResult {
  data?: Record<string, unknown> | null;
  /** Vault's `auth` block, for logins and token creation. */
  auth?: Record<string, unknown> | null;
  warnings?: string[];
  /** The envelope's lease_duration in seconds (KV v1 reports a secret's `ttl` key there); default 0. */
  leaseDuration?: number;
  /**
   * A dynamic credential's lease, registered by the engine through `core.leases.create`: rendered as the envelope's
   * lease_id, lease_duration and renewable, and recorded in the response's audit entry (the id, never the data).
   */
  lease?: IssuedLease;
  /** Defaults: 200 with a body when data/auth is set, else 204. */
  status?: number;
  /** Extra info for the audit entry (e.g. the Kubernetes identity of a login). */
  auditAuth?: Record<string, unknown>;
  /**
   * Dotted paths into `data` holding scalars that are not secret (a KV version's number and timestamps): the audit
   * entry keeps them in clear so forensic questions ("which version did they read?") have answers. Everything else
   * in `data` is HMAC'd.
   */
  auditClearData?: readonly string[];
  /**
   * An identity of `data` for the audit devices: equal keys mean equal data (a KV version's stored ciphertext, which
   * AES-GCM binds to exactly one plaintext, with its metadata). The redactor reuses the HMACs it made for the same key
   * instead of computing them again. Never derived from plaintext.
   */
  auditDataKey?: string;
  /**
   * The commits this answer rests on, when the handler knows it read nothing else (a KV read of one secret: see
   * Storage.commitHorizon): the reply waits for those to be durable, not for every commit made so far (another
   * secret's write). Ignored unless `data` goes out as the handler returned it.
   */
  durableAfter?: number;
  /**
   * A body sent verbatim instead of Vault's envelope: Vault's raw sys endpoints (sys/health, sys/init,
   * sys/seal-status, sys/unseal) and the Prometheus exposition (a string, with `contentType`).
   */
  raw?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /**
   * A wrapped response: rendered as the envelope's `wrap_info` with `data` null, audited with the token HMAC'd. Set by
   * the pipeline's wrapping step (http/wrapping.ts) and by sys/wrapping/rewrap; never together with `data` or `raw`.
   */
  wrapInfo?: WrapInfo;
}

/** One secret-data path an operation touches and the capabilities it needs there (all of them). */
export interface DataAccess {
  /** Full logical path, e.g. 'secret/data/app/db'. */
  path: string;
  capabilities: ReadonlyArray<Exclude<Capability, 'deny'>>;
}

export type Handler = (ctx: RequestContext) => Promise<HandlerResult | void>;

export interface BackendPath {
  /** Regular expression source, anchored by the router, matched against `rest`; use named groups. */
  pattern: string;
  operations: Partial<Record<Operation, Handler>>;
  /**
   * The body fields of create/update/patch. Validated
   * after authentication and the ACL, as Vault's framework does in the handler: a caller without access learns
   * nothing about a path's fields. Undeclared keys are ignored, as Vault ignores unrecognized parameters.
   */
  fields?: FieldSet;
  /** The parameters of read, list and delete (the query; a delete's may come as a body too, as Vault reads them). */
  queryFields?: FieldSet;
  /** One line for `?help=1` and the OpenAPI summary. */
  synopsis?: string;
  /** Longer help text. */
  description?: string;
  /** Decides create vs update for POST/PUT. */
  existenceCheck?: (ctx: RequestContext) => Promise<boolean>;
  /**
   * Write operations that change nothing stored (transit encrypt/decrypt: a computation under a key): audited as a
   * read is, the request entry written with the response entry in one commit, both durable before the answer.
   */
  changesNothing?: readonly Operation[];
  /** Login endpoints and the like: no token required, no ACL check. */
  unauthenticated?: boolean;
  /** Requires a valid token but no capability (e.g. sys/internal/ui/mounts, which clients probe before a read). */
  skipAcl?: boolean;
  /**
   * The path the ACL is checked against, when the handler acts on a canonical form of the request path (policy names
   * are stored lower-case). Without it the check would judge `sys/policies/acl/ADMIN` while the handler writes
   * `admin`, slipping past a deny on the real name.
   */
  aclPath?: (ctx: RequestContext) => string;
  /**
   * The secret data an operation reads or writes at paths other than its own (a diff reads two versions, a rollback
   * copies an old version into a new one). The pipeline checks every declared path and capability against the same
   * ACL as the request path, and refuses when any is missing — so a deny on `data/<path>` wins whatever endpoint
   * carries the data. Return [] when the operation touches none. Runs after authentication and the existence check.
   */
  dataAccess?: (ctx: RequestContext) => readonly DataAccess[];
  /**
   * The handler receives the caller's presented token as `ctx.ownToken` (auth/token/lookup-self and renew-self; and
   * on the unauthenticated sys/wrapping/unwrap and lookup, where the presented token may be the wrapping token).
   */
  receivesOwnToken?: boolean;
  /** Requires the 'sudo' capability in addition to the operation's. */
  sudo?: boolean;
  /** Served while sealed or uninitialized (sys/health, sys/seal-status, sys/init, sys/unseal). */
  allowSealed?: boolean;
  /** Login endpoints: subject to the per-address rate limit. */
  rateLimited?: boolean;
  /**
   * Route template for metrics and logs (e.g. 'kv.data'); the operation is appended ('kv.data.read'). Never a raw
   * path, so metric labels stay bounded and free of secret names.
   */
  name?: string;
  /** Not audited (health probes and metrics scrapes would drown the log, and carry nothing sensitive). */
  skipAudit?: boolean;
  /**
   * Audited when the audit log works, served anyway when it is unavailable (seal lifecycle only: sealing and
   * unsealing must stay possible while the audit log is down; Vault does not audit these paths at all).
   */
  auditIfAvailable?: boolean;
}

export interface Backend {
  paths: BackendPath[];
  /** Shown as `mount_type` in responses ('kv', 'system', 'token', ...). */
  mountType?: string;
}

/** A handler whose input is typed by its path's declarations. */
export type TypedHandler<I> = (ctx: RequestContext & { input: I }) => Promise<HandlerResult | void>;

type BodyOps = 'create' | 'update' | 'patch';
type QueryOps = 'read' | 'list' | 'delete';

export interface PathDeclaration<B extends FieldSet, Q extends FieldSet> extends Omit<
  BackendPath,
  'operations' | 'fields' | 'queryFields'
> {
  fields?: B;
  queryFields?: Q;
  operations: { [K in BodyOps]?: TypedHandler<FieldsInput<B>> } & { [K in QueryOps]?: TypedHandler<FieldsInput<Q>> };
}

/**
 * Declares a path with typed fields: `fields` types the handlers of writes, `queryFields` those of reads, lists and deletes,
 * so a handler reads `ctx.input.ttl` as `number | undefined` without parsing or casting.
 */
export function definePath<B extends FieldSet = Record<never, never>, Q extends FieldSet = Record<never, never>>(
  declaration: PathDeclaration<B, Q>,
): BackendPath {
  // The pipeline fills `input` from the same declarations before calling the handler, which is what makes the
  // narrower handler types sound.
  return declaration as unknown as BackendPath;
}

/**
 * The fields an operation is validated against: the query's for read, list and delete (a delete never takes the
 * write's body fields, some of which are required), the body's for writes.
 */
export function fieldsFor(path: BackendPath, operation: Operation): FieldSet | undefined {
  switch (operation) {
    case 'read':
    case 'list':
    case 'delete':
      return path.queryFields;
    default:
      return path.fields;
  }
}

/** The handler's `input`: the request data validated against the operation's declared fields (the data itself when none). */
export function inputFor(
  path: BackendPath,
  operation: Operation,
  data: Record<string, unknown>,
): Record<string, unknown> {
  const fields = fieldsFor(path, operation);
  return fields ? parseFields(fields, data) : data;
}
