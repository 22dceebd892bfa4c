/**
 * The CustomResourceDefinitions, generated from the zod definitions the operator validates with, so the API server
 * and the operator can never disagree about a field. `generate.ts` writes them to deploy/crds/; a test checks the
 * committed YAML is current.
 */
import { z } from 'zod';
import { GROUP, VERSION } from './common.js';
import { clusterExternalSecretSpec, clusterExternalSecretStatus } from './cluster-external-secret.js';
import { externalSecretSpec, externalSecretStatus } from './external-secret.js';
import { secretStoreSpec, secretStoreStatus } from './secret-store.js';
import { vaultDynamicSecretSpec, vaultDynamicSecretStatus } from './generator.js';

type JsonSchema = Record<string, unknown>;

/** zod's JSON Schema → a structural OpenAPI v3 schema (the subset CRDs accept). */
export function toStructural(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' }) as JsonSchema;
  return clean(json);
}

function clean(node: unknown): JsonSchema {
  const input = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(input)) {
    if (key === '$schema' || key === 'id') continue;
    // Structural schemas forbid additionalProperties beside properties; unknown fields are pruned by the server.
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, clean(v)]),
      );
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = clean(value);
    } else {
      out[key] = value;
    }
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true) delete out.properties;
  return out;
}

const METADATA = { type: 'object' };

interface KindDef {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  spec: z.ZodType;
  status: z.ZodType;
  columns: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
}

const readyColumns = [
  { name: 'Status', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
];
const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

export const KINDS: KindDef[] = [
  {
    kind: 'SecretStore',
    plural: 'secretstores',
    singular: 'secretstore',
    shortNames: ['ss'],
    scope: 'Namespaced',
    spec: secretStoreSpec,
    status: secretStoreStatus,
    columns: [...readyColumns, age],
  },
  {
    kind: 'ClusterSecretStore',
    plural: 'clustersecretstores',
    singular: 'clustersecretstore',
    shortNames: ['css'],
    scope: 'Cluster',
    spec: secretStoreSpec,
    status: secretStoreStatus,
    columns: [...readyColumns, age],
  },
  {
    kind: 'ExternalSecret',
    plural: 'externalsecrets',
    singular: 'externalsecret',
    shortNames: ['es'],
    scope: 'Namespaced',
    spec: externalSecretSpec,
    status: externalSecretStatus,
    columns: [
      { name: 'Store', type: 'string', jsonPath: '.spec.secretStoreRef.name' },
      { name: 'Refresh Interval', type: 'string', jsonPath: '.spec.refreshInterval' },
      readyColumns[0]!,
      { name: 'Synced Version', type: 'string', jsonPath: '.status.sync.remoteVersion' },
      readyColumns[1]!,
      age,
    ],
  },
  {
    kind: 'ClusterExternalSecret',
    plural: 'clusterexternalsecrets',
    singular: 'clusterexternalsecret',
    shortNames: ['ces'],
    scope: 'Cluster',
    spec: clusterExternalSecretSpec,
    status: clusterExternalSecretStatus,
    columns: [
      { name: 'Store', type: 'string', jsonPath: '.spec.externalSecretSpec.secretStoreRef.name' },
      { name: 'Refresh Interval', type: 'string', jsonPath: '.spec.refreshTime' },
      ...readyColumns,
      age,
    ],
  },
  {
    kind: 'VaultDynamicSecret',
    plural: 'vaultdynamicsecrets',
    singular: 'vaultdynamicsecret',
    shortNames: ['vds'],
    scope: 'Namespaced',
    spec: vaultDynamicSecretSpec,
    status: vaultDynamicSecretStatus,
    columns: [
      { name: 'Store', type: 'string', jsonPath: '.spec.provider.name' },
      { name: 'Path', type: 'string', jsonPath: '.spec.path' },
      age,
    ],
  },
];

export function crdFor(def: KindDef): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'strongroom' } },
    spec: {
      group: GROUP,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['strongroom'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: METADATA,
                spec: toStructural(def.spec),
                status: toStructural(def.status),
              },
            },
          },
        },
      ],
    },
  };
}

export function allCrds(): JsonSchema[] {
  return KINDS.map(crdFor);
}
