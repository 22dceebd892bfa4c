/** ExternalSecret: which remote values become which keys of which Kubernetes Secret. */
import { z } from 'zod';
import { rolloutPolicySchema, rolloutStatusSchema } from './rollout.js';
import { API_VERSION, condition, duration, objectName, type ObjectMeta } from './common.js';
import { compileUserRegex } from './user-regex.js';
import { credentialsStatus } from './credentials.js';
import { generatorRef } from './generator.js';

export const remoteRef = z.object({
  key: z.string().min(1),
  /** One field of a structured (map or JSON) remote secret. */
  property: z.string().optional(),
  /** Provider-specific version: a KV version number, an AWS stage or `uuid/<VersionId>`, ... */
  version: z.string().optional(),
});

/**
 * ESO's `sourceRef`: where an entry comes from instead of the ExternalSecret's store. Only `generatorRef` (a
 * VaultDynamicSecret) is supported; on a `data` entry its `remoteRef.key` then names one field of the generated
 * credential (`username`, `password`), e.g. a static role's password through `database/static-creds/<name>`.
 */
export const sourceRef = z.object({ generatorRef });

export const dataItem = z.object({
  secretKey: z
    .string()
    .min(1)
    .regex(/^[-._a-zA-Z0-9]+$/, 'a valid Secret data key'),
  remoteRef,
  sourceRef: sourceRef.optional(),
});

export const rewrite = z.object({ regexp: z.object({ source: z.string().min(1), target: z.string() }) });

export const dataFromItem = z
  .object({
    extract: remoteRef.optional(),
    find: z
      .object({
        /** Only secrets under this path prefix. */
        path: z.string().optional(),
        name: z.object({ regexp: z.string().min(1) }).optional(),
      })
      .optional(),
    /** Every field of a credential a generator issues (ESO's generator model). */
    sourceRef: sourceRef.optional(),
    rewrite: z.array(rewrite).optional(),
  })
  .meta({ description: 'exactly one of extract, find, sourceRef.generatorRef' });

export const secretStoreRef = z.object({
  name: objectName,
  kind: z.enum(['SecretStore', 'ClusterSecretStore']).default('SecretStore'),
});

export const targetTemplate = z.object({
  type: z.string().optional(),
  metadata: z
    .object({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  /** Values in the sandboxed template language: `{{ .key | b64dec }}`. */
  data: z.record(z.string(), z.string()).optional(),
  /** Replace: only templated keys; Merge: templated keys over the fetched ones. */
  mergePolicy: z.enum(['Replace', 'Merge']).default('Replace'),
});

export const target = z.object({
  name: objectName.optional(),
  creationPolicy: z.enum(['Owner', 'Orphan', 'Merge', 'None']).default('Owner'),
  deletionPolicy: z.enum(['Retain', 'Delete', 'Merge']).default('Retain'),
  template: targetTemplate.optional(),
  immutable: z.boolean().optional(),
});

export const externalSecretSpec = z.object({
  secretStoreRef,
  refreshInterval: duration.default('1h'),
  target: target.default({ creationPolicy: 'Owner', deletionPolicy: 'Retain' }),
  data: z.array(dataItem).optional(),
  dataFrom: z.array(dataFromItem).optional(),
  /** How a change reaches the workloads that use the Secret; absent: the store's default, else Restart. */
  rollout: rolloutPolicySchema.optional(),
});

/**
 * Sync progress lives under `status.sync` (written by the operator's reconciler); rollout progress under
 * `status.rollout` (written only by the rollout engine, so a restarted operator resumes from it).
 */
export const syncStatus = z.object({
  /** Remote version(s) last written: one version, or `key@version` pairs. */
  remoteVersion: z.string().optional(),
  targetResourceVersion: z.string().optional(),
  dataHash: z.string().optional(),
});

export const externalSecretStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
  refreshTime: z.string().optional(),
  binding: z.object({ name: z.string().optional() }).optional(),
  sync: syncStatus.optional(),
  rollout: rolloutStatusSchema.optional(),
  /** Generated credentials and their leases (ExternalSecrets with a generatorRef only). */
  credentials: credentialsStatus.optional(),
});

export type RemoteRef = z.infer<typeof remoteRef>;
export type DataItem = z.infer<typeof dataItem>;
export type DataFromItem = z.infer<typeof dataFromItem>;
export type Target = z.infer<typeof target>;
export type ExternalSecretSpec = z.infer<typeof externalSecretSpec>;
export type ExternalSecretStatus = z.infer<typeof externalSecretStatus>;
export type FindSpec = NonNullable<DataFromItem['find']>;

/** The generators an ExternalSecret uses, by name, in spec order (dataFrom first, as fetched). */
export function generatorNames(spec: ExternalSecretSpec): string[] {
  const names = [
    ...(spec.dataFrom ?? []).map((d) => d.sourceRef?.generatorRef.name),
    ...(spec.data ?? []).map((d) => d.sourceRef?.generatorRef.name),
  ].filter((n): n is string => n !== undefined);
  return [...new Set(names)];
}

export interface ExternalSecret {
  apiVersion?: string;
  kind?: 'ExternalSecret';
  metadata: ObjectMeta;
  spec: ExternalSecretSpec;
  status?: ExternalSecretStatus;
}

function issue(path: (string | number)[], message: string, input: unknown): z.ZodError {
  return new z.ZodError([{ code: 'custom', path, message, input }]);
}

/** Validates a spec beyond what the schema says: one-of rules, compilable regexes, policy combinations. */
export function parseExternalSecretSpec(spec: unknown): ExternalSecretSpec {
  const parsed = externalSecretSpec.parse(spec);
  if (!parsed.data?.length && !parsed.dataFrom?.length && !parsed.target.template?.data) {
    throw issue(['data'], 'at least one of data, dataFrom or target.template.data is required', spec);
  }
  parsed.dataFrom?.forEach((item, i) => {
    if ([item.extract, item.find, item.sourceRef].filter(Boolean).length !== 1)
      throw issue(['dataFrom', i], 'exactly one of extract, find or sourceRef.generatorRef must be set', spec);
    if (item.find && !item.find.path && !item.find.name)
      throw issue(['dataFrom', i, 'find'], 'find needs a path or a name.regexp', spec);
    for (const re of [item.find?.name?.regexp, ...(item.rewrite ?? []).map((r) => r.regexp.source)]) {
      if (re === undefined) continue;
      try {
        compileUserRegex(re);
      } catch (err) {
        throw issue(['dataFrom', i], `${(err as Error).message}: "${re}"`, spec);
      }
    }
  });
  const refs = [
    ...(parsed.dataFrom ?? []).map((d, i) => [['dataFrom', i], d.sourceRef] as const),
    ...(parsed.data ?? []).map((d, i) => [['data', i], d.sourceRef] as const),
  ];
  for (const [path, ref] of refs) {
    if (ref && ref.generatorRef.apiVersion !== API_VERSION)
      throw issue([...path, 'sourceRef', 'generatorRef', 'apiVersion'], `generators are ${API_VERSION}`, spec);
  }
  parsed.data?.forEach((item, i) => {
    if (item.sourceRef && (item.remoteRef.property !== undefined || item.remoteRef.version !== undefined))
      throw issue(
        ['data', i, 'remoteRef'],
        'with sourceRef.generatorRef, remoteRef.key names a field of the generated credential (no property or version)',
        spec,
      );
  });
  const { creationPolicy, deletionPolicy } = parsed.target;
  if (deletionPolicy === 'Delete' && (creationPolicy === 'Merge' || creationPolicy === 'None')) {
    throw issue(
      ['target', 'deletionPolicy'],
      `deletionPolicy Delete needs creationPolicy Owner or Orphan (the Secret is not ours to delete with ${creationPolicy})`,
      spec,
    );
  }
  if (deletionPolicy === 'Merge' && creationPolicy === 'None')
    throw issue(['target', 'deletionPolicy'], 'deletionPolicy Merge cannot be used with creationPolicy None', spec);
  return parsed;
}
