/** ClusterExternalSecret: one ExternalSecret stamped into every namespace a selector matches. */
import { z } from 'zod';
import { condition, duration, labelSelector, namespaceName, objectName, type ObjectMeta } from './common.js';
import { externalSecretSpec } from './external-secret.js';

export const clusterExternalSecretSpec = z.object({
  externalSecretSpec,
  /** Name of the ExternalSecret created in each namespace; defaults to the ClusterExternalSecret's name. */
  externalSecretName: objectName.optional(),
  externalSecretMetadata: z
    .object({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  namespaceSelectors: z.array(labelSelector).optional(),
  namespaces: z.array(namespaceName).optional(),
  /** How often namespaces are re-evaluated besides namespace events. */
  refreshTime: duration.default('1m'),
});

export const clusterExternalSecretStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
  provisionedNamespaces: z.array(z.string()).optional(),
  failedNamespaces: z.array(z.object({ namespace: z.string(), reason: z.string().optional() })).optional(),
});

export type ClusterExternalSecretSpec = z.infer<typeof clusterExternalSecretSpec>;
export type ClusterExternalSecretStatus = z.infer<typeof clusterExternalSecretStatus>;
export interface ClusterExternalSecret {
  apiVersion?: string;
  kind?: 'ClusterExternalSecret';
  metadata: ObjectMeta;
  spec: ClusterExternalSecretSpec;
  status?: ClusterExternalSecretStatus;
}

export function parseClusterExternalSecretSpec(spec: unknown): ClusterExternalSecretSpec {
  const parsed = clusterExternalSecretSpec.parse(spec);
  if (!parsed.namespaceSelectors?.length && !parsed.namespaces?.length) {
    throw new z.ZodError([
      {
        code: 'custom',
        path: ['namespaceSelectors'],
        message: 'namespaceSelectors or namespaces is required',
        input: spec,
      },
    ]);
  }
  return parsed;
}
