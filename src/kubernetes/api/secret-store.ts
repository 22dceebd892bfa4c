/** SecretStore (namespaced) and ClusterSecretStore: where secrets come from and how to authenticate there. */
import { z } from 'zod';
import { rolloutPolicySchema } from './rollout.js';
import {
  condition,
  duration,
  labelSelector,
  namespaceName,
  objectName,
  secretKeySelector,
  type ObjectMeta,
} from './common.js';

export const vaultProvider = z.object({
  /** e.g. https://strongroom.strongroom.svc:8200 */
  server: z.string().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL'),
  /** KV mount path. */
  path: z.string().min(1).default('secret'),
  version: z.enum(['v1', 'v2']).default('v2'),
  /** Vault Enterprise namespace header (X-Vault-Namespace). */
  namespace: z.string().optional(),
  /** PEM CA bundle, base64-encoded (as ESO writes it). */
  caBundle: z.string().optional(),
  auth: z
    .object({
      tokenSecretRef: secretKeySelector.optional(),
      kubernetes: z
        .object({
          mountPath: z.string().default('kubernetes'),
          role: z.string().min(1),
          /** Service account whose token (requested through the TokenRequest API) logs in. */
          serviceAccountRef: z.object({
            name: objectName,
            namespace: namespaceName.optional(),
            audiences: z.array(z.string()).optional(),
          }),
        })
        .optional(),
      appRole: z
        .object({
          path: z.string().default('approle'),
          roleId: z.string().optional(),
          roleRef: secretKeySelector.optional(),
          secretRef: secretKeySelector,
        })
        .optional(),
    })
    .meta({ minProperties: 1, maxProperties: 1, description: 'exactly one of tokenSecretRef, kubernetes, appRole' }),
});

export const kubernetesProvider = z.object({
  /** Namespace the Secrets are read from. */
  remoteNamespace: namespaceName.default('default'),
  /** A kubeconfig in a Secret: reach another cluster. Absent: the operator's own cluster. */
  authRef: secretKeySelector.optional(),
});

export const awsProvider = z.object({
  service: z.enum(['SecretsManager']).default('SecretsManager'),
  region: z.string().min(1),
  /** Override for VPC endpoints or LocalStack-style emulators. */
  endpoint: z.string().optional(),
  auth: z
    .object({
      secretRef: z.object({
        accessKeyIDSecretRef: secretKeySelector,
        secretAccessKeySecretRef: secretKeySelector,
        sessionTokenSecretRef: secretKeySelector.optional(),
      }),
    })
    .optional(),
});

export const storeProvider = z
  .object({ vault: vaultProvider.optional(), kubernetes: kubernetesProvider.optional(), aws: awsProvider.optional() })
  .meta({ minProperties: 1, maxProperties: 1, description: 'exactly one provider' });

/** Which namespaces may use a ClusterSecretStore (any one condition matching admits a namespace). */
export const storeCondition = z.object({
  namespaces: z.array(namespaceName).optional(),
  namespaceSelector: labelSelector.optional(),
});

export const secretStoreSpec = z.object({
  provider: storeProvider,
  /** How often the store's connection is re-validated. */
  refreshInterval: duration.default('5m'),
  conditions: z.array(storeCondition).optional(),
  /** Default rollout policy for ExternalSecrets using this store (an ExternalSecret's own policy wins as a whole). */
  rollout: rolloutPolicySchema.optional(),
});

export const secretStoreStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
  capabilities: z.enum(['ReadOnly', 'WriteOnly', 'ReadWrite']).optional(),
});

export type VaultProviderSpec = z.infer<typeof vaultProvider>;
export type KubernetesProviderSpec = z.infer<typeof kubernetesProvider>;
export type AwsProviderSpec = z.infer<typeof awsProvider>;
export type StoreProviderSpec = z.infer<typeof storeProvider>;
export type StoreCondition = z.infer<typeof storeCondition>;
export type SecretStoreSpec = z.infer<typeof secretStoreSpec>;
export type SecretStoreStatus = z.infer<typeof secretStoreStatus>;

export interface SecretStore {
  apiVersion?: string;
  kind: 'SecretStore' | 'ClusterSecretStore';
  metadata: ObjectMeta;
  spec: SecretStoreSpec;
  status?: SecretStoreStatus;
}

/** Validates a store spec, including the one-of rules the CRD expresses with min/maxProperties. */
export function parseSecretStoreSpec(spec: unknown): SecretStoreSpec {
  const parsed = secretStoreSpec.parse(spec);
  const providers = Object.entries(parsed.provider).filter(([, v]) => v !== undefined);
  if (providers.length !== 1)
    throw new z.ZodError([
      { code: 'custom', path: ['provider'], message: 'exactly one provider must be set', input: spec },
    ]);
  const vault = parsed.provider.vault;
  if (vault) {
    const methods = Object.values(vault.auth).filter((v) => v !== undefined);
    if (methods.length !== 1)
      throw new z.ZodError([
        {
          code: 'custom',
          path: ['provider', 'vault', 'auth'],
          message: 'exactly one auth method must be set',
          input: spec,
        },
      ]);
    if (vault.auth.appRole && !vault.auth.appRole.roleId && !vault.auth.appRole.roleRef) {
      throw new z.ZodError([
        {
          code: 'custom',
          path: ['provider', 'vault', 'auth', 'appRole'],
          message: 'roleId or roleRef is required',
          input: spec,
        },
      ]);
    }
  }
  return parsed;
}
