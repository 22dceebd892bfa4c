/**
 * Shared pieces of the strongroom.io/v1 API. Every schema here is written to stay *structural* once converted to
 * OpenAPI (objects, arrays, scalars, string maps; no unions), because the same definition produces the CRD.
 */
import { z } from 'zod';

export const GROUP = 'strongroom.io';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A Kubernetes object name (DNS subdomain). */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
export const namespaceName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);

/** Go-style duration as Kubernetes APIs write it: "1h", "15m", "30s", "1h30m", "500ms"; "0" (or "0s") means never. */
export const duration = z
  .string()
  .regex(/^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h))+)$/, 'a duration such as "1h", "15m", "30s" or "0"');

/** Points at one key of a Secret. `namespace` is only honoured for cluster-scoped stores. */
export const secretKeySelector = z.object({
  name: objectName,
  key: z.string().min(1).max(253),
  namespace: namespaceName.optional(),
});

export const labelSelectorRequirement = z.object({
  key: z.string().min(1),
  operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
  values: z.array(z.string()).optional(),
});
export const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(labelSelectorRequirement).optional(),
});

/** metav1.Condition. */
export const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string().optional(),
  observedGeneration: z.number().int().optional(),
});

export type SecretKeySelector = z.infer<typeof secretKeySelector>;
export type LabelSelector = z.infer<typeof labelSelector>;
export type Condition = z.infer<typeof condition>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }[];
  finalizers?: string[];
}

/** Parses "1h30m" into milliseconds. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`invalid duration "${text}"`);
  return Math.round(total);
}
