/** ExternalSecret: which remote values become which keys of which Kubernetes Secret. */
import { z } from 'zod';
import { rolloutPolicySchema, rolloutStatusSchema } from './rollout.js';
import { condition, duration, objectName, type ObjectMeta } from './common.js';
import { compileUserRegex } from './user-regex.js';

export const remoteRef = z.object({
  key: z.string().min(1),
  /** One field of a structured (map or JSON) remote secret. */
  property: z.string().optional(),
  /** Provider-specific version: a KV version number, an AWS stage or `uuid/<VersionId>`, ... */
  version: z.string().optional(),
});

export const dataItem = z.object({
  secretKey: z
    .string()
    .min(1)
    .regex(/^[-._a-zA-Z0-9]+$/, 'a valid Secret data key'),
  remoteRef,
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
    rewrite: z.array(rewrite).optional(),
  })
  .meta({ description: 'exactly one of extract, find' });

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
});

export type RemoteRef = z.infer<typeof remoteRef>;
export type DataItem = z.infer<typeof dataItem>;
export type DataFromItem = z.infer<typeof dataFromItem>;
export type Target = z.infer<typeof target>;
export type ExternalSecretSpec = z.infer<typeof externalSecretSpec>;
export type ExternalSecretStatus = z.infer<typeof externalSecretStatus>;
export type FindSpec = NonNullable<DataFromItem['find']>;

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
    if (Boolean(item.extract) === Boolean(item.find))
      throw issue(['dataFrom', i], 'exactly one of extract or find must be set', spec);
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
