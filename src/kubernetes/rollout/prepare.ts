/**
 * The Preparing phase: resolve the effective policy, (re)write the Secret's data when a person asked for a retry or
 * an undo, and plan the waves. Also the one place that writes a version's data into the Secret, which rolling back
 * uses too.
 */
import { parseDuration } from '../api/common.js';
import { describePolicyError, effectivePolicy, type RolloutStatus } from '../api/rollout.js';
import { secretDataHash } from '../secret-hash.js';
import type { Json } from './cluster.js';
import type { EngineContext } from './context.js';
import { planRollout } from './plan.js';
import { OPERATOR_HASH_ANNOTATION, ref, SOURCE_VERSION_ANNOTATION, type Step } from './record.js';

export type WriteSecretData = (
  es: Json,
  r: RolloutStatus,
  version: string,
  purpose: 'rollback' | 'retry' | 'undo',
  reason: string,
) => Promise<void>;

export interface Preparing {
  writeSecretData: WriteSecretData;
  /** `written`: the target Secret as the operator's write returned it, used instead of a GET when it is that Secret. */
  prepare(es: Json, r: RolloutStatus, written?: Json): Promise<Step>;
}

export function createPreparing(deps: EngineContext): Preparing {
  const { cluster, source, pollMs, iso } = deps;

  async function writeSecretData(
    es: Json,
    r: RolloutStatus,
    version: string,
    purpose: 'rollback' | 'retry' | 'undo',
    reason: string,
  ): Promise<void> {
    const secret = await cluster.readSecret(es.metadata.namespace, r.secretName);
    if (!secret) throw new Error(`Secret ${es.metadata.namespace}/${r.secretName} does not exist`);
    const data = await source.dataAt(es, version, {
      purpose,
      externalSecret: ref(es),
      ...(purpose === 'rollback'
        ? { fromVersion: r.targetVersion }
        : r.previousVersion
          ? { fromVersion: r.previousVersion }
          : {}),
      reason,
    });
    const patch: Record<string, string | null> = { ...data };
    for (const key of Object.keys(secret.data ?? {})) if (!(key in data)) patch[key] = null;
    // Keep the operator's bookkeeping on the Secret true to its data: which remote version it holds, and its hash.
    const ann = secret.metadata.annotations ?? {};
    const annotations: Record<string, string> = {};
    if (SOURCE_VERSION_ANNOTATION in ann) annotations[SOURCE_VERSION_ANNOTATION] = version;
    if (OPERATOR_HASH_ANNOTATION in ann)
      annotations[OPERATOR_HASH_ANNOTATION] = secretDataHash(data, es.metadata.uid ?? es.metadata.name);
    await cluster.patchSecret(es.metadata.namespace, r.secretName, {
      metadata: {
        resourceVersion: secret.metadata.resourceVersion,
        ...(Object.keys(annotations).length ? { annotations } : {}),
      },
      data: patch,
    });
  }

  async function prepare(es: Json, r: RolloutStatus, written?: Json): Promise<Step> {
    let policy;
    try {
      const storeRef = es.spec?.secretStoreRef ?? {};
      const store = storeRef.name
        ? await cluster.readStore(storeRef.kind ?? 'SecretStore', es.metadata.namespace, storeRef.name)
        : undefined;
      policy = effectivePolicy(es.spec?.rollout, store?.spec?.rollout);
    } catch (err) {
      const message = describePolicyError(err);
      return {
        save: { ...r, phase: 'Failed', reason: 'InvalidPolicy', message, finishedAt: iso() },
        events: [{ type: 'Warning', reason: 'InvalidRolloutPolicy', message }],
      };
    }
    if (r.writeData) {
      await writeSecretData(
        es,
        r,
        r.targetVersion,
        r.trigger === 'Undo' ? 'undo' : 'retry',
        `${r.trigger.toLowerCase()} requested by a person`,
      );
    }
    const known =
      !r.writeData &&
      written?.metadata?.name === r.secretName &&
      written.metadata.namespace === es.metadata.namespace &&
      written.metadata.uid !== undefined;
    const secret = known ? written : await cluster.readSecret(es.metadata.namespace, r.secretName);
    if (!secret) return { wait: pollMs };
    const base: RolloutStatus = {
      ...r,
      writeData: false,
      targetHash: secretDataHash(secret.data, secret.metadata.uid),
      strategy: policy.strategy,
      autoRollback: policy.autoRollback,
      pauseBetweenWavesMs: policy.pauseBetweenWaves === '0' ? 0 : parseDuration(policy.pauseBetweenWaves),
    };
    if (policy.strategy === 'None') {
      return {
        save: {
          ...base,
          phase: 'Succeeded',
          reason: 'StrategyNone',
          message: 'strategy None: the Secret was updated, no workload restarted',
          workloads: [],
          finishedAt: iso(),
        },
      };
    }
    const plan = planRollout(policy, deps.consumers.consumersOf(es.metadata.namespace, r.secretName));
    if (plan.workloads.length === 0) {
      return {
        save: {
          ...base,
          phase: 'Succeeded',
          reason: 'NothingToRestart',
          message: 'no workload needs a restart for this Secret',
          waves: plan.waves,
          workloads: [],
          finishedAt: iso(),
        },
      };
    }
    return {
      save: { ...base, phase: 'Progressing', waves: plan.waves, workloads: plan.workloads, currentWave: 0 },
      events: [
        {
          type: 'Normal',
          reason: 'RolloutStarted',
          message: `rolling out version ${r.targetVersion} to ${plan.workloads.length} workload(s) in ${plan.waves.length} wave(s)`,
        },
      ],
    };
  }

  return { writeSecretData, prepare };
}
