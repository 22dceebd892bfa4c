/** Condition bookkeeping: lastTransitionTime only moves when the status flips, as Kubernetes conventions ask. */
import type { Condition } from '../api/common.js';

export function setCondition(
  existing: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
): Condition[] {
  const list = [...(existing ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const previous = i >= 0 ? list[i] : undefined;
  const lastTransitionTime =
    previous && previous.status === next.status && previous.lastTransitionTime
      ? previous.lastTransitionTime
      : new Date().toISOString();
  const condition: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = condition;
  else list.push(condition);
  return list;
}

export function readyCondition(conditions: Condition[] | undefined): Condition | undefined {
  return conditions?.find((c) => c.type === 'Ready');
}
