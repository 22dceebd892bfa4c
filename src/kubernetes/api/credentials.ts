/**
 * `status.credentials` on an ExternalSecret that uses generators: which generated credential (generation) the target
 * Secret holds, the previous one still alive until its rollout succeeded, and leases whose revocation must be retried.
 * Lease ids, times and generations only: never a credential value. The lease lifecycle (`../generators/`) is the only
 * writer; it replaces the whole object each time (a JSON merge patch with explicit nulls).
 */
import { z } from 'zod';

export const leaseRecord = z.object({
  /** The VaultDynamicSecret that issued it. */
  generator: z.string(),
  /** The generator's metadata.generation at issue: a changed generator gets a new credential. */
  generatorGeneration: z.number().int().optional(),
  /** '' when the store handed out no lease (a static role read without hold): nothing to renew or revoke. */
  leaseId: z.string(),
  /** Seconds the store granted at issue (renewals ask for as much again; the margin is computed from it). */
  leaseDuration: z.number().int(),
  renewable: z.boolean(),
  issueTime: z.string(),
  expireTime: z.string(),
  lastRenewal: z.string().optional(),
  /**
   * When the store changes this credential on its own (a static role's next rotation, from its `ttl`): it is read
   * again then, whatever its lease says.
   */
  refreshAfter: z.string().optional(),
});

export const credentialGeneration = z.object({
  generation: z.number().int(),
  /** The version this generation is recorded as in the Secret and in rollouts (`gen-<generation>`). */
  version: z.string(),
  issuedAt: z.string(),
  leases: z.array(leaseRecord),
});

export const pendingRevocation = z.object({
  generator: z.string(),
  generation: z.number().int(),
  leaseId: z.string(),
  expireTime: z.string(),
  attempts: z.number().int(),
  nextAttemptAt: z.string(),
  /** Why it is revoked, and the last failure (no values). */
  reason: z.string().optional(),
});

export const credentialsStatus = z.object({
  /** Highest generation issued so far (generations are never reused). */
  lastGeneration: z.number().int(),
  current: credentialGeneration.optional(),
  /** The credential the Secret held before `current`: revoked once the rollout of `current` succeeded plus grace. */
  previous: credentialGeneration.optional(),
  revoking: z.array(pendingRevocation).optional(),
  /** After a rollback, no new credential before this time (the store may be fine, the workloads were not). */
  reissueNotBefore: z.string().optional(),
  message: z.string().optional(),
});

export type LeaseRecord = z.infer<typeof leaseRecord>;
export type CredentialGeneration = z.infer<typeof credentialGeneration>;
export type PendingRevocation = z.infer<typeof pendingRevocation>;
export type CredentialsStatus = z.infer<typeof credentialsStatus>;

export const generationVersion = (generation: number) => `gen-${generation}`;

/** The recorded-version key of a generator's entries (`generator:<name>@gen-3` beside KV `key@version` pairs). */
export const generatorVersionKey = (name: string) => `generator:${name}`;
