import { versionAnnotation } from '../rollout/hash.js';
import type { Consumer } from './types.js';

/**
 * The version a consumer runs: what our pod-template annotation says for restarted workloads; the Secret's current
 * version where the kubelet refreshes files in place; unknown for a workload never restarted by a rollout. Shared
 * by `strongroom consumers` and the summary the operator publishes to the store.
 */
export function versionRun(
  c: Consumer,
  annotations: Record<string, string>,
  secretName: string,
  current: string | undefined,
): string | undefined {
  if (c.effect === 'refresh') return current;
  if (c.effect === 'none') return c.uses.every((u) => u.via === 'imagePullSecret') ? undefined : current;
  return annotations[versionAnnotation(secretName)];
}
