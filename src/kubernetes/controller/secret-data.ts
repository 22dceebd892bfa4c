/** Building the target Secret's content: fetch, rewrite, template (its hash is `../secret-hash.ts`). */
import type { ExternalSecretSpec } from '../api/external-secret.js';
import { TemplateError, render } from '../template/template.js';
import type { SecretsClient } from '../types.js';
import { compileUserRegex } from '../api/user-regex.js';
import { StrongroomError } from '../../shared/errors.js';
import { generatorVersionKey } from '../api/credentials.js';

export interface Fetched {
  data: Record<string, Buffer>;
  /** `key` → remote version, for the status and the source annotation. */
  versions: Record<string, string>;
}

export type CachedRead = <T>(op: string, ref: unknown, load: () => Promise<T>) => Promise<T>;

/** Per generator name: the fields of the credential generation to write, and that generation's version. */
export type GeneratedData = Record<string, { data: Record<string, Buffer>; version: string }>;

export async function fetchData(
  spec: ExternalSecretSpec,
  client: SecretsClient,
  cached: CachedRead,
  generated: GeneratedData = {},
): Promise<Fetched> {
  const data: Record<string, Buffer> = {};
  const versions: Record<string, string> = {};
  const fromGenerator = (name: string) => {
    const got = generated[name];
    if (!got) throw new StrongroomError('invalid', `no credential from VaultDynamicSecret ${name}`);
    versions[generatorVersionKey(name)] = got.version;
    return got.data;
  };
  // dataFrom first, data[] last: explicit keys win over bulk ones (ESO's order).
  for (const item of spec.dataFrom ?? []) {
    let entries: Record<string, Buffer>;
    if (item.sourceRef) {
      entries = fromGenerator(item.sourceRef.generatorRef.name);
    } else if (item.extract) {
      const ref = item.extract;
      const map = await cached('map', ref, () => client.getSecretMap(ref));
      entries = map.data;
      if (map.version) versions[ref.key] = map.version;
    } else {
      const find = item.find!;
      entries = await cached('find', find, () => client.findSecrets(find));
    }
    for (const [key, value] of Object.entries(entries)) data[rewriteKey(key, item.rewrite ?? [])] = value;
  }
  await Promise.all(
    (spec.data ?? []).map(async (item) => {
      if (item.sourceRef) {
        const name = item.sourceRef.generatorRef.name;
        const value = fromGenerator(name)[item.remoteRef.key];
        if (!value)
          throw new StrongroomError(
            'invalid',
            `the credential from VaultDynamicSecret ${name} has no field "${item.remoteRef.key}"`,
          );
        data[item.secretKey] = value;
        return;
      }
      const got = await cached('get', item.remoteRef, () => client.getSecret(item.remoteRef));
      data[item.secretKey] = got.value;
      if (got.version) versions[item.remoteRef.key] = got.version;
    }),
  );
  return { data, versions };
}

export function rewriteKey(key: string, rewrites: { regexp: { source: string; target: string } }[]): string {
  let out = key;
  for (const r of rewrites) out = out.replace(compileUserRegex(r.regexp.source, 'g'), r.regexp.target);
  return out;
}

export interface Desired {
  data: Record<string, string>;
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Applies `target.template`; returns base64 data ready for the Secret. Template errors name the key, never a value. */
export function buildDesired(spec: ExternalSecretSpec, fetched: Record<string, Buffer>): Desired {
  const template = spec.target.template;
  const b64 = (m: Record<string, Buffer>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toString('base64')]));
  if (!template) return { data: b64(fetched), type: 'Opaque', labels: {}, annotations: {} };
  const strings = Object.fromEntries(Object.entries(fetched).map(([k, v]) => [k, v.toString('utf8')]));
  const run = (where: string, text: string) => {
    try {
      return render(text, strings);
    } catch (err) {
      if (err instanceof TemplateError) throw new TemplateError(`template ${where}: ${err.message}`);
      throw err;
    }
  };
  const rendered: Record<string, Buffer> = {};
  for (const [k, text] of Object.entries(template.data ?? {}))
    rendered[k] = Buffer.from(run(`data.${k}`, text), 'utf8');
  const data = template.mergePolicy === 'Merge' || !template.data ? { ...fetched, ...rendered } : rendered;
  const mapStrings = (m: Record<string, string> | undefined, where: string) =>
    Object.fromEntries(Object.entries(m ?? {}).map(([k, text]) => [k, run(`${where}.${k}`, text)]));
  return {
    data: b64(data),
    type: template.type ?? 'Opaque',
    labels: mapStrings(template.metadata?.labels, 'metadata.labels'),
    annotations: mapStrings(template.metadata?.annotations, 'metadata.annotations'),
  };
}

export function summarizeVersions(versions: Record<string, string>): string | undefined {
  const entries = Object.entries(versions).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return undefined;
  if (entries.length === 1) return entries[0]![1];
  return entries
    .map(([k, v]) => `${k}@${v}`)
    .join(',')
    .slice(0, 256);
}
