import type { ManagedSealService } from '../crypto/service.js';
import type { SealService, SealStatus } from '../crypto/types.js';
import { StrongroomError } from '../shared/errors.js';
import type { FromRequestThread } from './thread-messages.js';

/** The calls a request thread makes to the main thread (thread-messages.ts createCalls, and a plain post). */
export interface MainThreadCalls {
  call(message: { kind: string; [key: string]: unknown }): Promise<{ status?: SealStatus }>;
  post(message: FromRequestThread): void;
}

/**
 * The seal service a request thread's HTTP routes see. A Shamir unseal is a multi-step exchange whose state (shares
 * held so far, the attempt's nonce) must have one owner: shares sent over different connections land on different
 * threads, and kept per thread they might never reach the threshold. So `sys/unseal` (a share, or `reset`) and the
 * progress fields of `sys/seal-status` and `sys/health` are answered by the main thread's seal service, which also
 * opens every thread once the threshold is reached (request-threads.ts: `distributeUnseal`). While this thread is
 * unsealed its own status is exact (no unseal is in progress then) and costs no message.
 *
 * Everything else (the barrier, init, seal) stays this thread's own.
 */
export function sealAnsweredByMain(local: ManagedSealService, main: MainThreadCalls): SealService {
  const statusOf = async (message: { kind: string; [key: string]: unknown }): Promise<SealStatus> => {
    const { status } = await main.call(message);
    if (!status) throw new StrongroomError('unavailable', 'the main thread did not report its seal status');
    return status;
  };
  return {
    ...local,
    status: () => (local.barrier.isSealed() ? statusOf({ kind: 'seal-status' }) : local.status()),
    submitShare: (share, options) => statusOf({ kind: 'submit-share', share, migrate: options?.migrate === true }),
    // Messages on one port arrive in order: a status asked right after this sees the reset.
    resetUnseal: () => main.post({ kind: 'reset-unseal' }),
  };
}
