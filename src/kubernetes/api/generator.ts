/**
 * VaultDynamicSecret: a generator (External Secrets Operator's model) that asks a Strongroom/Vault store for a fresh
 * credential (`database/creds/app`, or a static role's `database/static-creds/app`) instead of reading a stored
 * value. ExternalSecrets refer to it with `dataFrom[].sourceRef.generatorRef` (every field of the credential) or
 * `data[].sourceRef.generatorRef` (one field). The operator owns the credential's lease: it renews it, issues the next
 * credential before it ends, rolls that out, and revokes the previous lease only after the rollout succeeded.
 *
 * Deliberate difference from ESO: `provider` names a SecretStore/ClusterSecretStore (its address and auth are reused)
 * instead of repeating a Vault provider block in every generator.
 */
import { z } from 'zod';
import { condition, duration, objectName, parseDuration, type ObjectMeta } from './common.js';

export const GENERATOR_KINDS = ['VaultDynamicSecret'] as const;

export const generatorRef = z.object({
  apiVersion: z.string().default('strongroom.io/v1'),
  kind: z.enum(GENERATOR_KINDS).default('VaultDynamicSecret'),
  name: objectName,
});

export const vaultDynamicSecretSpec = z.object({
  /** The store whose address and auth are used (its KV path and version do not matter here). */
  provider: z.object({
    name: objectName,
    kind: z.enum(['SecretStore', 'ClusterSecretStore']).default('SecretStore'),
  }),
  /** Logical path without /v1/: `database/creds/app`, `database/static-creds/app`. */
  path: z
    .string()
    .min(1)
    .regex(/^\/?[A-Za-z0-9_.@+=-]+(\/[A-Za-z0-9_.@+=-]+)*$/, 'a logical path such as "database/creds/app"'),
  method: z.enum(['GET', 'POST', 'PUT']).default('GET'),
  /** Query parameters (GET) or the JSON body (POST/PUT). */
  parameters: z.record(z.string(), z.string()).optional(),
  /** Which part of the answer becomes the Secret's keys: `data` (default), `auth`, or the whole answer. */
  resultType: z.enum(['Data', 'Auth', 'Raw']).default('Data'),
  /**
   * How long before the lease ends it is renewed, or (when it cannot be extended) replaced by a new credential.
   * Absent: a third of the lease's duration.
   */
  renewBefore: duration.optional(),
  /** After the rollout of a new credential succeeded, how long the previous one stays valid before it is revoked. */
  revokeGracePeriod: duration.default('30s'),
});

export const vaultDynamicSecretStatus = z.object({
  conditions: z.array(condition).optional(),
  observedGeneration: z.number().int().optional(),
});

export type GeneratorRef = z.infer<typeof generatorRef>;
export type VaultDynamicSecretSpec = z.infer<typeof vaultDynamicSecretSpec>;

export interface VaultDynamicSecret {
  apiVersion?: string;
  kind?: 'VaultDynamicSecret';
  metadata: ObjectMeta;
  spec: VaultDynamicSecretSpec;
  status?: z.infer<typeof vaultDynamicSecretStatus>;
}

/** A static role's credentials: read with `hold=true`, so the store hands out a lease that pins the account. */
export const STATIC_CREDS_PATH = /(^|\/)static-creds\/[^/]+$/;

export function parseVaultDynamicSecretSpec(spec: unknown): VaultDynamicSecretSpec {
  const parsed = vaultDynamicSecretSpec.parse(spec);
  if (parsed.renewBefore !== undefined && parseDuration(parsed.renewBefore) === 0)
    throw new z.ZodError([
      { code: 'custom', path: ['renewBefore'], message: 'renewBefore must be longer than 0', input: spec },
    ]);
  const path = parsed.path.replace(/^\/+/, '');
  if (path.split('/').some((segment) => segment === '.' || segment === '..'))
    throw new z.ZodError([{ code: 'custom', path: ['path'], message: 'no "." or ".." segments', input: spec }]);
  return { ...parsed, path };
}
