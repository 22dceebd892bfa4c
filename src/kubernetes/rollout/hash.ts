/**
 * The pod-template annotations a restart writes. The hash is `secretDataHash` salted with the Secret's uid: it
 * changes exactly when the data does, and someone who can read Deployments but not Secrets cannot test guesses of a
 * weak value against it offline (an unsalted sha256, as Helm's checksum/secret pattern uses, would allow that).
 */
import { createHash } from 'node:crypto';

export const ANNOTATION_PREFIX = 'strongroom.io/';
/** Workload-level lock (metadata annotation): which rollout may change this workload right now. */
export const LOCK_ANNOTATION = 'strongroom.io/rollout-lock';

/** Annotation names are at most 63 characters after the prefix; long Secret names keep a readable head and a digest. */
function suffixFor(secretName: string, label: string): string {
  const full = `${label}-${secretName}`;
  if (full.length <= 63) return full;
  const digest = createHash('sha256').update(secretName).digest('hex').slice(0, 10);
  return `${label}-${secretName.slice(0, 63 - label.length - 12).replace(/[-.]+$/, '')}-${digest}`;
}

export const hashAnnotation = (secretName: string) => ANNOTATION_PREFIX + suffixFor(secretName, 'secret-hash');
export const versionAnnotation = (secretName: string) => ANNOTATION_PREFIX + suffixFor(secretName, 'secret-version');
