/**
 * The one hash of a Secret's data, shared by the controller (the `strongroom.io/data-hash` annotation and
 * `status.sync.dataHash`, and the version of data from a store without versions) and the rollout engine (the pod
 * template's `secret-hash-*` annotation). The salt is an object uid, so equal values in two Secrets do not look equal
 * and someone who sees the hash but cannot read the salted object cannot test guesses of a weak value offline.
 *
 * The controller's values are compared with ones written before (rolled-back versions are held by their hash), so
 * this is the controller's original algorithm: changing it would make old annotations and records look like new data.
 */
import { createHash } from 'node:crypto';

/** `data` as a Secret holds it (base64 values); key order does not matter. */
export function secretDataHash(data: Record<string, string> | undefined, salt: string): string {
  const h = createHash('sha256').update(salt).update('\0');
  // Keys (Kubernetes key names) and base64 values never contain \0, so the encoding is unambiguous.
  for (const key of Object.keys(data ?? {}).sort()) h.update(key).update('\0').update(data![key]!).update('\0');
  return h.digest('hex').slice(0, 32);
}
