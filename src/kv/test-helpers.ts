import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Mount } from '../mounts/types.js';
import { isStrongroomError, type ErrorKind } from '../shared/errors.js';

/** A fresh kv mount object: every test gets its own UUID, so tests sharing a database never see each other. */
export function kvMount(path = 'secret/', version: '1' | '2' = '2'): Mount {
  const uuid = randomUUID();
  return {
    path,
    type: 'kv',
    uuid,
    accessor: `kv_${uuid.slice(0, 8)}`,
    description: '',
    options: { version },
    createdAt: Date.now(),
  };
}

/** Awaits a rejection and returns the StrongroomError, asserting its kind (and reason when given). */
export async function rejection(promise: Promise<unknown>, kind: ErrorKind, reason?: string) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStrongroomError(err, kind), `expected a '${kind}' error, got ${String(err)}`).toBe(true);
  const typed = err as { details?: Record<string, unknown>; message: string };
  if (reason !== undefined) expect(typed.details?.reason).toBe(reason);
  return typed;
}
