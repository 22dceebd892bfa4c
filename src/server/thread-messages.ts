import type { MessagePort } from 'node:worker_threads';
import type { AuditPortGrant } from '../audit/threaded.js';
import type { SealStatus } from '../crypto/types.js';
import { StrongroomError, type ErrorKind } from '../shared/errors.js';
import type { ServerConfig } from './config.js';

/**
 * Messages between the main thread and the other request threads (request-threads.ts, request-thread.ts). The unseal
 * key travels only inside this process, transferred (not copied), and is never logged. Errors cross as text only.
 */
export interface RequestThreadData {
  config: ServerConfig;
  /** The main thread's listening socket: every request thread accepts on it. */
  fd: number;
  shared: SharedArrayBuffer;
  /** Present when the store was unsealed before the thread started; `seals` is the seal count it was taken at. */
  unsealKey?: Uint8Array;
  seals: number;
}

/** main → request thread */
export type ToRequestThread =
  /** `seals`: the seal count when the key was taken (a seal since then wins: thread-coherence.ts). */
  | { kind: 'unseal'; id: number; key: Uint8Array; seals: number }
  | { kind: 'seal' }
  /** Read the TLS certificate and key again (SIGHUP, or the files changed). */
  | { kind: 'reload-tls'; cause: 'SIGHUP' | 'files changed' }
  | { kind: 'stop'; id: number }
  | { kind: 'answer'; id: number; ok: true; grant?: AuditPortGrant; status?: SealStatus }
  | { kind: 'answer'; id: number; ok: false; error: string; errorKind?: ErrorKind };

/** request thread → main */
export type FromRequestThread =
  | { kind: 'ready' }
  | { kind: 'failed'; error: string }
  | { kind: 'sealed' }
  | { kind: 'unsealed'; id: number; key: Uint8Array }
  | { kind: 'audit-port'; id: number }
  /**
   * Shamir unseal progress is the main thread's alone (thread-unseal.ts): shares sent over different connections
   * land on different threads and must add up. The share is copied (a string), never logged.
   */
  | { kind: 'seal-status'; id: number }
  | { kind: 'submit-share'; id: number; share: string; migrate: boolean }
  | { kind: 'reset-unseal' }
  | { kind: 'answer'; id: number; ok: true }
  | { kind: 'answer'; id: number; ok: false; error: string };

type Answer =
  | { kind: 'answer'; id: number; ok: true; grant?: AuditPortGrant; status?: SealStatus }
  | { kind: 'answer'; id: number; ok: false; error: string; errorKind?: ErrorKind };

/** Calls that expect an answer, over one port; answers are matched by id. */
export function createCalls(port: {
  postMessage(message: unknown, transfer?: readonly (ArrayBuffer | MessagePort)[]): void;
}) {
  const waiting = new Map<number, { resolve: (answer: Answer) => void }>();
  let nextId = 1;
  return {
    call(message: { kind: string; [key: string]: unknown }, transfer: (ArrayBuffer | MessagePort)[] = []) {
      const id = nextId++;
      return new Promise<Answer>((resolve) => {
        waiting.set(id, { resolve });
        port.postMessage({ ...message, id }, transfer);
      }).then((answer) => {
        // The other side's error kind when it sent one (a wrong unseal share stays a 400), else unavailable.
        if (!answer.ok) throw new StrongroomError(answer.errorKind ?? 'unavailable', answer.error);
        return answer;
      });
    },
    /** True when `message` was an answer to one of these calls. */
    answered(message: { kind: string; id?: number }): boolean {
      if (message.kind !== 'answer' || message.id === undefined) return false;
      const entry = waiting.get(message.id);
      waiting.delete(message.id);
      entry?.resolve(message as Answer);
      return true;
    },
    /** The other side is gone: every call still waiting fails. */
    failAll(error: string) {
      for (const [id, entry] of waiting) {
        waiting.delete(id);
        entry.resolve({ kind: 'answer', id, ok: false, error });
      }
    },
  };
}

export function errorText(err: unknown): string {
  return err instanceof StrongroomError ? err.message : 'request thread failure';
}

/** The kind a caller on the other thread should see: the error's own, or unavailable for anything unexpected. */
export function errorKindOf(err: unknown): ErrorKind {
  return err instanceof StrongroomError ? err.kind : 'unavailable';
}

/** A key as received (a Uint8Array view of a transferred buffer) as the Buffer the seal service takes. */
export function keyBuffer(key: Uint8Array): Buffer {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
}
