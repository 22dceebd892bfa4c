/**
 * Turns a policy and the restartable consumers of a Secret into ordered waves. Decided once, at the start of a
 * rollout, and stored in status, so a resumed rollout restarts exactly the plan it began with.
 */
import type { LabelSelector } from '../api/common.js';
import { parseDuration } from '../api/common.js';
import type { Consumer } from '../consumers/types.js';
import type { RolloutKind, RolloutPolicy, RolloutWorkloadStatus } from '../api/rollout.js';

export interface Plan {
  waves: { name: string; healthTimeoutMs: number }[];
  workloads: RolloutWorkloadStatus[];
}

/** Kubernetes label selector semantics (matchLabels AND matchExpressions); an empty selector matches everything. */
export function matchesSelector(labels: Record<string, string>, selector: LabelSelector): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    if (req.operator === 'In' && !(has && values.includes(value!))) return false;
    if (req.operator === 'NotIn' && has && values.includes(value!)) return false;
    if (req.operator === 'Exists' && !has) return false;
    if (req.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export function planRollout(policy: RolloutPolicy, consumers: Consumer[]): Plan {
  const restartable = consumers.filter((c) => c.restartable);
  const defaultTimeout = parseDuration(policy.healthTimeout);
  if (policy.strategy !== 'Progressive') {
    const workloads = restartable.map((c) => ({
      kind: c.kind as RolloutKind,
      name: c.name,
      wave: 0,
      state: 'Pending' as const,
    }));
    return { waves: workloads.length ? [{ name: 'all', healthTimeoutMs: defaultTimeout }] : [], workloads };
  }
  const waves: Plan['waves'] = [];
  const workloads: RolloutWorkloadStatus[] = [];
  const taken = new Set<string>();
  const key = (c: Consumer) => `${c.kind}/${c.name}`;
  for (const wave of policy.waves ?? []) {
    const members = restartable.filter((c) => {
      if (taken.has(key(c))) return false;
      if (wave.selector) return matchesSelector(c.labels, wave.selector);
      return (wave.workloads ?? []).some((w) => w.name === c.name && (w.kind === undefined || w.kind === c.kind));
    });
    // An empty wave is kept: the plan in status then shows every wave the policy names, in order.
    const index = waves.length;
    waves.push({
      name: wave.name,
      healthTimeoutMs: wave.healthTimeout ? parseDuration(wave.healthTimeout) : defaultTimeout,
    });
    for (const c of members) {
      taken.add(key(c));
      workloads.push({ kind: c.kind as RolloutKind, name: c.name, wave: index, state: 'Pending' });
    }
  }
  const rest = restartable.filter((c) => !taken.has(key(c)));
  if (rest.length > 0) {
    const index = waves.length;
    waves.push({ name: 'remaining', healthTimeoutMs: defaultTimeout });
    for (const c of rest) workloads.push({ kind: c.kind as RolloutKind, name: c.name, wave: index, state: 'Pending' });
  }
  return { waves, workloads };
}
