/** Secrets in another namespace of this cluster, or of another cluster reached through a kubeconfig in a Secret. */
import { CoreV1Api, KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { StrongroomError, forbidden } from '../../shared/errors.js';
import {
  RemoteNotFoundError,
  StoreUnavailableError,
  type FindSpec,
  type Provider,
  type RemoteRef,
  type SecretsClient,
} from '../types.js';
import { pickProperty } from './values.js';
import { compileUserRegex } from '../api/user-regex.js';

export const kubernetesProvider: Provider = async (ctx) => {
  const spec = ctx.store.spec.provider.kubernetes!;
  let kc = ctx.kubeConfig;
  if (spec.authRef) {
    kc = new KubeConfig();
    try {
      kc.loadFromString(await ctx.readSecretKey(spec.authRef));
    } catch (err) {
      // Only the first line: the YAML parser follows it with an excerpt of the document, which holds credentials,
      // and this message becomes the ExternalSecret's status and event.
      const reason = (err instanceof Error ? err.message : '').split('\n', 1)[0]!.trim();
      throw new StrongroomError(
        'invalid',
        `the kubeconfig in Secret ${spec.authRef.name} key ${spec.authRef.key} is not valid${reason ? `: ${reason}` : ''}`,
      );
    }
  }
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = spec.remoteNamespace;
  const count = (op: string) => ctx.onCall?.('kubernetes', op);

  const translate = (err: unknown, what: string): never => {
    const code = (err as { code?: number }).code;
    if (code === 404) throw new RemoteNotFoundError(`${what} not found in namespace ${namespace}`);
    if (code === 403 || code === 401) throw forbidden(`not allowed to read ${what} in namespace ${namespace}`);
    throw new StoreUnavailableError(
      `reading ${what} in namespace ${namespace} failed: ${code ?? (err as Error).message}`,
    );
  };
  const read = async (name: string): Promise<V1Secret> => {
    count('read');
    try {
      return await core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      return translate(err, `Secret ${name}`);
    }
  };
  const decoded = (s: V1Secret): Record<string, string> =>
    Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

  const client: SecretsClient = {
    async getSecret(ref: RemoteRef) {
      const secret = await read(ref.key);
      const version = secret.metadata?.resourceVersion;
      if (ref.property) {
        const raw = secret.data?.[ref.property];
        const value =
          raw !== undefined ? Buffer.from(raw, 'base64') : pickProperty(decoded(secret), ref.property, ref.key);
        return { value, ...(version ? { version } : {}) };
      }
      return { value: Buffer.from(JSON.stringify(decoded(secret))), ...(version ? { version } : {}) };
    },
    async getSecretMap(ref: RemoteRef) {
      const secret = await read(ref.key);
      const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      const version = secret.metadata?.resourceVersion;
      return { data, ...(version ? { version } : {}) };
    },
    async findSecrets(find: FindSpec) {
      count('list');
      let items: V1Secret[];
      try {
        items = (await core.listNamespacedSecret({ namespace })).items;
      } catch (err) {
        return translate(err, 'Secrets');
      }
      const re = find.name ? compileUserRegex(find.name.regexp) : undefined;
      const out: Record<string, Buffer> = {};
      for (const s of items) {
        const name = s.metadata?.name ?? '';
        if (find.path && !name.startsWith(find.path)) continue;
        if (re && !re.test(name)) continue;
        out[name] = Buffer.from(JSON.stringify(decoded(s)));
      }
      return out;
    },
    async validate() {
      count('validate');
      try {
        await core.listNamespacedSecret({ namespace, limit: 1 });
      } catch (err) {
        translate(err, 'Secrets');
      }
    },
    async close() {},
  };
  return client;
};
