/**
 * Vault-compatible stores (Strongroom itself, or HashiCorp Vault/OpenBao): KV v2 or v1, authenticated by a token
 * from a Secret, a Kubernetes service-account login (token from the TokenRequest API) or AppRole.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { rootCertificates } from 'node:tls';
import {
  ApiError,
  ConnectionError,
  NotFoundError,
  createClient,
  kvListPath,
  kvMount,
  kvValueOf,
  kvValuePath,
  kvVersionOf,
  type Client,
  type KvMount,
  type Method,
  type Response,
} from '../../client/index.js';
import { StrongroomError, forbidden } from '../../shared/errors.js';
import type { VaultProviderSpec } from '../api/secret-store.js';
import {
  RemoteNotFoundError,
  StoreUnavailableError,
  type FindSpec,
  type Provider,
  type ProviderContext,
  type DynamicSecretsClient,
  type ReadContext,
  type RemoteRef,
  type SecretsClient,
} from '../types.js';
import { encodeValue, pickProperty } from './values.js';
import { createVaultDynamic } from './vault-dynamic.js';
import { compileUserRegex } from '../api/user-regex.js';

interface Login {
  token: string;
  /** ms epoch after which we log in again (half the lease, like Vault Agent). */
  renewAt: number;
}

export const vaultProvider: Provider = async (ctx) => {
  const spec = ctx.store.spec.provider.vault!;
  // The store's own caBundle wins; else the operator's --ca-cert, beside the system's roots (a store elsewhere may
  // have a certificate from a public CA). Never NODE_EXTRA_CA_CERTS: that would trust it for every connection.
  const ca = spec.caBundle
    ? Buffer.from(spec.caBundle, 'base64').toString('utf8')
    : ctx.storeCa
      ? [...rootCertificates, ctx.storeCa]
      : undefined;
  const http = createClient({
    address: spec.server,
    ...(ca ? { ca } : {}),
    timeoutMs: 10_000,
    userAgent: 'strongroom-operator',
    ...(spec.namespace ? { namespace: spec.namespace } : {}),
  });
  return new VaultClient(spec, http, ctx);
};

/**
 * A read context as query parameters. The store ignores parameters it does not know and records every request
 * parameter in its audit entry (values HMAC'd), so the entry for a rollback read says what it was for.
 */
export function readContextQuery(context: ReadContext): Record<string, string> {
  return {
    strongroom_rollout: context.purpose,
    strongroom_externalsecret: context.externalSecret,
    ...(context.fromVersion ? { strongroom_from_version: context.fromVersion } : {}),
    strongroom_reason: context.reason.slice(0, 200),
  };
}

type Query = Record<string, string>;

function errorsOf(err: ApiError): string {
  return err.errors.length > 0 ? err.errors.join('; ').slice(0, 300) : `HTTP ${err.status}`;
}

/** No answer at all: the store is unavailable, and the target Secret must not be touched. */
function unreachable(err: unknown): unknown {
  return err instanceof ConnectionError ? new StoreUnavailableError(err.message, { cause: err }) : err;
}

class VaultClient implements SecretsClient {
  private login: Login | undefined;
  private loggingIn: Promise<Login> | undefined;

  constructor(
    private readonly spec: VaultProviderSpec,
    private readonly http: Client,
    private readonly ctx: ProviderContext,
  ) {}

  private count(operation: string): void {
    this.ctx.onCall?.('vault', operation);
  }

  private async token(): Promise<string> {
    if (this.login && Date.now() < this.login.renewAt) return this.login.token;
    this.loggingIn ??= this.authenticate().finally(() => (this.loggingIn = undefined));
    this.login = await this.loggingIn;
    return this.login.token;
  }

  private async authenticate(): Promise<Login> {
    const auth = this.spec.auth;
    if (auth.tokenSecretRef) {
      const token = (await this.ctx.readSecretKey(auth.tokenSecretRef)).trim();
      // Re-read the Secret now and then so a rotated token is picked up.
      return { token, renewAt: Date.now() + 60_000 };
    }
    let path: string;
    let body: Record<string, string>;
    if (auth.kubernetes) {
      const sa = auth.kubernetes.serviceAccountRef;
      const namespace =
        this.ctx.store.kind === 'ClusterSecretStore' ? (sa.namespace ?? this.ctx.namespace) : this.ctx.namespace;
      const core = this.ctx.kubeConfig.makeApiClient(CoreV1Api);
      let jwt: string;
      try {
        const tr = await core.createNamespacedServiceAccountToken({
          name: sa.name,
          namespace,
          body: { spec: { audiences: sa.audiences ?? [], expirationSeconds: 600 } },
        });
        jwt = tr.status?.token ?? '';
      } catch (err) {
        throw new StoreUnavailableError(
          `requesting a token for service account ${namespace}/${sa.name} failed: ${(err as { code?: number }).code ?? (err as Error).message}`,
        );
      }
      path = `auth/${auth.kubernetes.mountPath}/login`;
      body = { role: auth.kubernetes.role, jwt };
    } else {
      const ar = auth.appRole!;
      const roleId = ar.roleId ?? (await this.ctx.readSecretKey(ar.roleRef!)).trim();
      const secretId = (await this.ctx.readSecretKey(ar.secretRef)).trim();
      path = `auth/${ar.path}/login`;
      body = { role_id: roleId, secret_id: secretId };
    }
    this.count('login');
    let res: Response;
    try {
      res = await this.http.request('POST', path, { body, token: '' });
    } catch (err) {
      if (err instanceof ApiError) throw new StoreUnavailableError(`login at /v1/${path} failed: ${errorsOf(err)}`);
      throw unreachable(err);
    }
    const authBlock = res.body?.auth as { client_token?: string; lease_duration?: number } | undefined;
    if (res.status !== 200 || !authBlock?.client_token)
      throw new StoreUnavailableError(`login at /v1/${path} failed: HTTP ${res.status}`);
    const ttlMs = (authBlock.lease_duration ?? 0) > 0 ? authBlock.lease_duration! * 1000 : 3_600_000;
    return { token: authBlock.client_token, renewAt: Date.now() + ttlMs / 2 };
  }

  /** Calls with our token; on 403 after a login-based auth, logs in once more (the token may have been revoked). */
  private async call(method: Method, path: string, query?: Record<string, string>, body?: unknown): Promise<Response> {
    const send = async () =>
      this.http.request(method, path, {
        token: await this.token(),
        ...(query ? { query } : {}),
        ...(body !== undefined ? { body } : {}),
      });
    try {
      try {
        return await send();
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 403) throw err;
        this.login = undefined;
        return await send();
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw unreachable(err);
      if (err.status === 503)
        throw new StoreUnavailableError(`the store is unavailable (sealed or down): ${errorsOf(err)}`);
      if (err.status >= 500) throw new StoreUnavailableError(`the store answered ${err.status}: ${errorsOf(err)}`);
      if (err.status === 403) throw forbidden(`permission denied on /v1/${path}`);
      throw err;
    }
  }

  private kv(): KvMount {
    return kvMount(this.spec.path, this.spec.version === 'v1' ? 1 : 2);
  }

  private mount(): string {
    return this.spec.path.replace(/^\/+|\/+$/g, '');
  }

  private async read(
    ref: RemoteRef,
    context: Query = {},
  ): Promise<{ data: Record<string, unknown>; version?: string }> {
    const key = ref.key.replace(/^\/+/, '');
    const m = this.kv();
    this.count('read');
    const query: Query = { ...context, ...(m.version === 2 && ref.version ? { version: ref.version } : {}) };
    const missing = () =>
      new RemoteNotFoundError(
        `secret "${key}"${m.version === 2 && ref.version ? ` version ${ref.version}` : ''} not found in ${this.mount()}`,
      );
    let res: Response;
    try {
      res = await this.call('GET', kvValuePath(m, key), Object.keys(query).length ? query : undefined);
    } catch (err) {
      // KV v2 answers 404 with metadata for a deleted version: still "not found" for us.
      if (err instanceof NotFoundError) throw missing();
      if (err instanceof ApiError) throw new StrongroomError('internal', `reading "${key}" failed: ${errorsOf(err)}`);
      throw err;
    }
    const data = kvValueOf(m.version, res.body);
    if (m.version === 2 && !data) throw missing();
    if (res.status !== 200) throw new StrongroomError('internal', `reading "${key}" failed: HTTP ${res.status}`);
    if (m.version === 1 || !data) return { data: data ?? {} };
    const version = kvVersionOf(res.body);
    return { data, ...(version !== undefined ? { version: String(version) } : {}) };
  }

  async getSecret(ref: RemoteRef, context?: Query) {
    const { data, version } = await this.read(ref, context);
    const value = ref.property ? pickProperty(data, ref.property, ref.key) : Buffer.from(JSON.stringify(data));
    return { value, ...(version ? { version } : {}) };
  }

  async getSecretMap(ref: RemoteRef, context?: Query) {
    const { data, version } = await this.read(ref, context);
    const source = ref.property ? parseMapProperty(pickProperty(data, ref.property, ref.key)) : data;
    if (source === null || typeof source !== 'object' || Array.isArray(source))
      throw new StrongroomError('invalid', `"${ref.key}" property "${ref.property}" is not a map`);
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(source as Record<string, unknown>)) out[k] = encodeValue(v);
    return { data: out, ...(version ? { version } : {}) };
  }

  private async list(prefix: string): Promise<string[]> {
    this.count('list');
    // GET ?list=true rather than the LIST verb: some proxies reject unknown methods.
    let res: Response;
    try {
      res = await this.call('GET', kvListPath(this.kv(), prefix), { list: 'true' });
    } catch (err) {
      if (err instanceof NotFoundError) return [];
      if (err instanceof ApiError)
        throw new StrongroomError('internal', `listing "${prefix}" failed: ${errorsOf(err)}`);
      throw err;
    }
    if (res.status !== 200) throw new StrongroomError('internal', `listing "${prefix}" failed: HTTP ${res.status}`);
    return ((res.body?.data as { keys?: string[] } | undefined)?.keys ?? []).map(String);
  }

  async findSecrets(find: FindSpec) {
    const root = (find.path ?? '').replace(/^\/+/, '');
    const base = root === '' || root.endsWith('/') ? root : `${root}/`;
    const nameRe = find.name ? compileUserRegex(find.name.regexp) : undefined;
    const found: string[] = [];
    const queue = [base];
    // Breadth-first over folders, bounded so a huge tree cannot stall a reconcile forever.
    while (queue.length > 0 && found.length < 10_000) {
      const dir = queue.shift()!;
      for (const entry of await this.list(dir)) {
        if (entry.endsWith('/')) queue.push(dir + entry);
        else found.push((dir + entry).slice(base.length));
      }
    }
    const out: Record<string, Buffer> = {};
    for (const rel of found) {
      if (nameRe && !nameRe.test(rel)) continue;
      out[rel.replaceAll('/', '_')] = (await this.getSecret({ key: base + rel })).value;
    }
    return out;
  }

  async validate() {
    this.count('validate');
    try {
      await this.http.request('GET', 'auth/token/lookup-self', { token: await this.token() });
    } catch (err) {
      if (!(err instanceof ApiError)) throw unreachable(err);
      if (err.status >= 500) throw new StoreUnavailableError(`the store is unavailable: ${errorsOf(err)}`);
      throw new StoreUnavailableError(`the store rejected our credentials: ${errorsOf(err)}`);
    }
  }

  async close() {
    this.login = undefined;
    this.http.close();
  }

  dynamic(): DynamicSecretsClient {
    return createVaultDynamic(
      (method, path, options) => this.call(method, path, options.query, options.body),
      (operation) => this.count(operation),
    );
  }

  withReadContext(context: ReadContext): SecretsClient {
    const query = readContextQuery(context);
    return {
      getSecret: (ref) => this.getSecret(ref, query),
      getSecretMap: (ref) => this.getSecretMap(ref, query),
      findSecrets: (find) => this.findSecrets(find),
      validate: () => this.validate(),
      // The view shares this client's login; closing it must not log the shared client out.
      close: async () => undefined,
    };
  }
}

/**
 * A property holding a JSON map. Never lets JSON.parse's SyntaxError escape: V8 quotes the start of the input in its
 * message ("hunter2"... is not valid JSON), and that message would reach the operator log.
 */
function parseMapProperty(value: Buffer): unknown {
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}
