import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import type { TransitSealConfig } from '../crypto/transit-seal.js';
import { DEFAULT_MAX_JSON_DEPTH, MAX_CONFIGURABLE_JSON_DEPTH } from '../http/json-body.js';

/**
 * `strongroom server` configuration: an optional YAML file, overridden by STRONGROOM_* environment variables,
 * overridden by flags. Every source uses the same keys (snake_case in YAML, STRONGROOM_<UPPER_SNAKE> in the
 * environment, --kebab-case on the command line), validated once by one schema.
 */
const MiB = 1024 * 1024;
/** Sized for a 2-core / 1 GiB pod: in-flight bodies cost several times their size while parsed, sealed and audited. */
const DEFAULT_MAX_INFLIGHT_REQUEST_BYTES = 64 * MiB;

/** The most request threads a server runs: past a few cores SQLite's single writer and the audit thread bound it. */
export const MAX_REQUEST_THREADS = 16;

const listenSchema = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT, e.g. 127.0.0.1:8200');

/**
 * Vault's `seal "transit"` stanza, in YAML (`seal: {type: transit, ...}`). The token may come from the environment
 * instead (STRONGROOM_TRANSIT_SEAL_TOKEN, or Vault's VAULT_TOKEN), so it need not sit in the file.
 */
const sealSchema = z
  .object({
    type: z.literal('transit'),
    address: z.string().regex(/^https?:\/\/[^/]+\/?$/, 'must be http(s)://HOST:PORT, with no path'),
    token: z.string().min(1).optional(),
    key_name: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a transit key name'),
    mount_path: z
      .string()
      .regex(/^\/?[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/, 'must be a mount path such as transit/')
      .default('transit/'),
    namespace: z.string().min(1).optional(),
    tls_ca_cert: z.string().min(1).optional(),
    tls_client_cert: z.string().min(1).optional(),
    tls_client_key: z.string().min(1).optional(),
    tls_server_name: z.string().min(1).optional(),
    tls_skip_verify: z.boolean().default(false),
    disabled: z.boolean().default(false),
    // Vault writes it as a string ("false"); both spellings are taken.
    disable_renewal: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
  })
  .strict();

const rawSchema = z
  .object({
    dev: z.boolean().default(false),
    dev_root_token: z.string().min(1).optional(),
    listen: listenSchema.default('127.0.0.1:8200'),
    data_dir: z.string().min(1).optional(),
    database_url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    tls_cert_file: z.string().min(1).optional(),
    tls_key_file: z.string().min(1).optional(),
    audit_file: z.string().min(1).optional(),
    // Directories a file audit device enabled through sys/audit may write in (a list, or comma-separated in env/flags).
    audit_file_dirs: z.union([z.array(z.string().min(1)), z.string()]).optional(),
    // This process's name among the servers sharing a database: `{node}` in audit file paths, audit anchors.
    node_name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
        'must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit',
      )
      .optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    max_request_bytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 * MiB)
      .default(32 * MiB),
    kv_max_data_bytes: z
      .number()
      .int()
      .min(1)
      .max(512 * MiB)
      .default(MiB),
    // Unset: 64 MiB, or max_request_bytes when that is larger (one largest body must always fit).
    max_inflight_request_bytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(16 * 1024 * MiB)
      .optional(),
    max_concurrent_requests: z.number().int().min(16).max(1_000_000).default(1024),
    max_json_depth: z.number().int().min(1).max(MAX_CONFIGURABLE_JSON_DEPTH).default(DEFAULT_MAX_JSON_DEPTH),
    // Threads serving HTTP requests (the main thread is one of them); unset: see defaultRequestThreads.
    request_threads: z.number().int().min(1).max(MAX_REQUEST_THREADS).optional(),
    // The audit log on a thread of its own even with one request thread (more request threads always have one).
    audit_thread: z.boolean().default(false),
    // Seconds between checks of the TLS files for a renewal (cert-manager rewrites them in place); 0: only on SIGHUP.
    tls_reload_interval: z.number().int().min(0).max(86_400).default(60),
    // Vault's `ui` stanza; on by default here (the console holds no secret and needs a token like any client).
    ui: z.boolean().default(true),
    seal: sealSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Boolean(c.tls_cert_file) !== Boolean(c.tls_key_file)) {
      ctx.addIssue({ code: 'custom', path: ['tls_cert_file'], message: 'tls_cert_file and tls_key_file go together' });
    }
    if (!c.dev && !c.data_dir && !c.database_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['data_dir'],
        message: 'set data_dir (SQLite) or database_url (PostgreSQL), or use --dev',
      });
    }
    if (c.seal && c.dev) {
      ctx.addIssue({
        code: 'custom',
        path: ['seal'],
        message: '--dev uses a key file; a transit seal is for production',
      });
    }
    if (c.request_threads !== undefined && c.request_threads > 1 && c.database_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['request_threads'],
        message: 'more than one request thread needs SQLite (data_dir); with PostgreSQL run more replicas instead',
      });
    }
    if (c.dev_root_token && !c.dev) {
      ctx.addIssue({ code: 'custom', path: ['dev_root_token'], message: 'only valid with --dev' });
    }
    if (c.max_inflight_request_bytes !== undefined && c.max_inflight_request_bytes < c.max_request_bytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_inflight_request_bytes'],
        message: 'must be at least max_request_bytes (the largest single body must fit)',
      });
    }
    const port = Number(c.listen.slice(c.listen.lastIndexOf(':') + 1));
    if (port > 65535) ctx.addIssue({ code: 'custom', path: ['listen'], message: 'port must be 0–65535' });
  });

export type RawConfig = z.input<typeof rawSchema>;

export interface ServerConfig {
  dev: boolean;
  devRootToken?: string;
  host: string;
  port: number;
  /** Where SQLite lives (and, in dev mode, the unseal key file). */
  dataDir: string;
  databaseUrl?: string;
  /** `reloadIntervalSeconds`: how often the files are checked for a renewal (0: only on SIGHUP). */
  tls?: { certFile: string; keyFile: string; reloadIntervalSeconds: number };
  auditFile?: string;
  /**
   * Absolute directories where file audit devices enabled through sys/audit may write (default <data-dir>/audit).
   * `--audit-file` is configuration itself and is not confined.
   */
  auditFileDirs: string[];
  /** This process's node name (default: the host name): `{node}` in audit file paths; the key of its audit anchors. */
  nodeName: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxRequestBytes: number;
  kvMaxDataBytes: number;
  /** Admission control (http/admission.ts): body bytes and requests in progress. */
  maxInflightRequestBytes: number;
  maxConcurrentRequests: number;
  /** Deepest JSON nesting accepted in a request body (http/json-body.ts). */
  maxJsonDepth: number;
  /** Serve the web console at /ui. */
  ui: boolean;
  /** Threads serving HTTP requests on the one listening socket, the main thread included (server/request-threads.ts). */
  requestThreads: number;
  /**
   * The audit log on a thread of its own (audit/threaded.ts) even with one request thread: the request thread then
   * spends less per audited request, the process more in all (see server/audit-lifecycle.ts). Always so with more
   * than one request thread.
   */
  auditThread: boolean;
  /** Auto-unseal through another server's transit key (Vault's `seal "transit"`). Holds the token: never log it. */
  seal?: TransitSealConfig;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

// The seal stanza is a mapping: YAML only (its token may come from the environment, see transitSealOf).
const KEYS = (Object.keys(rawSchema.shape) as Array<keyof RawConfig>).filter((key) => key !== 'seal');
const NUMERIC = new Set<string>(['max_request_bytes', 'kv_max_data_bytes', 'max_inflight_request_bytes']);
const COUNT = new Set<string>(['max_concurrent_requests', 'max_json_depth', 'request_threads', 'tls_reload_interval']);
const BOOLEAN = new Set<string>(['dev', 'ui', 'audit_thread']);

/** Flag values as commander gives them (camelCase keys, strings or booleans). */
export type FlagValues = Record<string, string | boolean | undefined>;

export function loadConfig(input: { flags: FlagValues; env: NodeJS.ProcessEnv; cwd?: string }): ServerConfig {
  const problems: string[] = [];
  const merged: Record<string, unknown> = {};
  const configFile = typeof input.flags.config === 'string' ? input.flags.config : input.env.STRONGROOM_CONFIG;
  if (configFile) {
    for (const [key, value] of Object.entries(readYaml(configFile, problems))) {
      // YAML gives numbers and booleans already typed; sizes like "4MiB" arrive as strings.
      merged[key] = typeof value === 'string' ? coerce(key, value, `${configFile}: ${key}`, problems) : value;
    }
  }
  for (const key of KEYS) {
    const envValue = input.env[`STRONGROOM_${key.toUpperCase()}`];
    if (envValue !== undefined && envValue !== '')
      merged[key] = coerce(key, envValue, `STRONGROOM_${key.toUpperCase()}`, problems);
  }
  for (const key of KEYS) {
    const flag = input.flags[camel(key)];
    if (flag !== undefined) merged[key] = coerce(key, flag, `--${key.replaceAll('_', '-')}`, problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const parsed = rawSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path.join('.');
        if (issue.code === 'unrecognized_keys') return `config: unknown setting(s) ${issue.keys.join(', ')}`;
        return `config: ${key || '(root)'}: ${issue.message}`;
      }),
    );
  }
  const c = parsed.data;
  const cwd = input.cwd ?? process.cwd();
  const colon = c.listen.lastIndexOf(':');
  const config: ServerConfig = {
    dev: c.dev,
    host: c.listen.slice(0, colon).replace(/^\[|\]$/g, ''),
    port: Number(c.listen.slice(colon + 1)),
    dataDir: resolve(cwd, c.data_dir ?? join('.strongroom')),
    auditFileDirs: [],
    nodeName: c.node_name ?? defaultNodeName(),
    logLevel: c.log_level,
    maxRequestBytes: c.max_request_bytes,
    kvMaxDataBytes: c.kv_max_data_bytes,
    maxInflightRequestBytes:
      c.max_inflight_request_bytes ?? Math.max(DEFAULT_MAX_INFLIGHT_REQUEST_BYTES, c.max_request_bytes),
    maxConcurrentRequests: c.max_concurrent_requests,
    maxJsonDepth: c.max_json_depth,
    ui: c.ui,
    requestThreads: c.request_threads ?? defaultRequestThreads(),
    auditThread: c.audit_thread,
  };
  if (c.dev_root_token) config.devRootToken = c.dev_root_token;
  if (c.seal) config.seal = transitSealOf(c.seal, input.env, cwd);
  if (c.database_url) config.databaseUrl = c.database_url;
  if (c.tls_cert_file && c.tls_key_file) {
    config.tls = {
      certFile: resolve(cwd, c.tls_cert_file),
      keyFile: resolve(cwd, c.tls_key_file),
      reloadIntervalSeconds: c.tls_reload_interval,
    };
  }
  if (c.audit_file) config.auditFile = resolve(cwd, c.audit_file);
  const dirs =
    typeof c.audit_file_dirs === 'string'
      ? c.audit_file_dirs.split(',')
      : (c.audit_file_dirs ?? [join(config.dataDir, 'audit')]);
  config.auditFileDirs = dirs
    .map((d) => d.trim())
    .filter((d) => d !== '')
    .map((d) => resolve(cwd, d));
  return config;
}

function transitSealOf(seal: z.output<typeof sealSchema>, env: NodeJS.ProcessEnv, cwd: string): TransitSealConfig {
  const token = env.STRONGROOM_TRANSIT_SEAL_TOKEN || seal.token || env.VAULT_TOKEN;
  if (!token) {
    throw new ConfigError([
      'config: seal.token: the transit seal needs a token (seal.token, STRONGROOM_TRANSIT_SEAL_TOKEN or VAULT_TOKEN)',
    ]);
  }
  const file = (path: string | undefined) => (path ? resolve(cwd, path) : undefined);
  const config: TransitSealConfig = {
    address: seal.address.replace(/\/+$/, ''),
    token,
    keyName: seal.key_name,
    mountPath: seal.mount_path,
    tlsSkipVerify: seal.tls_skip_verify,
    disabled: seal.disabled,
    disableRenewal: seal.disable_renewal,
  };
  if (seal.namespace) config.namespace = seal.namespace;
  if (seal.tls_ca_cert) config.tlsCaCert = file(seal.tls_ca_cert);
  if (seal.tls_client_cert) config.tlsClientCert = file(seal.tls_client_cert);
  if (seal.tls_client_key) config.tlsClientKey = file(seal.tls_client_key);
  if (seal.tls_server_name) config.tlsServerName = seal.tls_server_name;
  return config;
}

/**
 * One request thread unless configured: see the README's "Request threads" for what more threads buy on SQLite and
 * what the bench measured (the default stays 1 until every cache is exact across threads; see request-threads.ts).
 */
export function defaultRequestThreads(): number {
  return 1;
}

/** The host name (a pod's name in Kubernetes), cut to what a node name may hold. */
export function defaultNodeName(): string {
  const name = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 63);
  return name === '' ? 'node' : name;
}

/** YAML loads only when a config file is given (CommonJS: require gives what an import would); most starts use flags. */
const loadYaml = (): typeof Yaml => createRequire(import.meta.url)('yaml') as typeof Yaml;

function readYaml(file: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.push(`config: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    return {};
  }
  try {
    const doc: unknown = loadYaml().parse(text);
    if (doc === null || doc === undefined) return {};
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      problems.push(`config: ${file} must contain a mapping of settings`);
      return {};
    }
    return doc as Record<string, unknown>;
  } catch (err) {
    problems.push(`config: ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    return {};
  }
}

function coerce(key: string, value: string | boolean, source: string, problems: string[]): unknown {
  if (BOOLEAN.has(key)) {
    if (typeof value === 'boolean') return value;
    if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
    if (['false', '0', 'no'].includes(value.toLowerCase())) return false;
    problems.push(`config: ${source}: must be true or false`);
    return undefined;
  }
  if (COUNT.has(key)) {
    const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isFinite(n)) problems.push(`config: ${source}: must be a whole number`);
    return n;
  }
  if (NUMERIC.has(key)) {
    const n = typeof value === 'string' ? parseSize(value) : NaN;
    if (!Number.isFinite(n)) problems.push(`config: ${source}: must be a number of bytes (e.g. 1048576 or 1MiB)`);
    return n;
  }
  return value;
}

/** Bytes, with an optional KiB/MiB/GiB (or K/M/G) suffix. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(text);
  if (!m) return NaN;
  const unit = (m[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? MiB : unit === 'g' ? 1024 * MiB : 1;
  return Number(m[1]) * scale;
}

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
