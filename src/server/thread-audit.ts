import { connectAuditPort, type AuditPortGrant } from '../audit/threaded.js';
import type { AuditService } from '../audit/types.js';
import type { Barrier } from '../crypto/types.js';
import { StrongroomError } from '../shared/errors.js';
import type { AuditLifecycle } from './audit-lifecycle.js';

/**
 * The audit log of a request thread other than the main one: the main thread's one audit thread, reached through a
 * port of its own (audit/threaded.ts connectPort), so every hash chain keeps its single writer. Fail closed as on
 * the main thread: unsealed without a working port, requests get 503 while a new port is asked for (the main thread
 * reopens its audit service after a device change elsewhere or a crash, which closes the old ports).
 */
export function createRequestThreadAudit(deps: {
  barrier: Barrier;
  /** Asks the main thread for a port; rejects while the main thread's audit log is not open. */
  connect(): Promise<AuditPortGrant>;
}): AuditLifecycle {
  let audit: AuditService | null = null;
  let connecting: Promise<void> | null = null;
  let problem: string | null = null;

  function connect(): Promise<void> {
    connecting ??= (async () => {
      try {
        const grant = await deps.connect();
        const hmacKey = deps.barrier.deriveKey('audit-hmac');
        try {
          const previous = audit;
          audit = connectAuditPort(grant, hmacKey);
          problem = null;
          await previous?.close().catch(() => undefined);
        } finally {
          hmacKey.fill(0);
        }
      } catch (err) {
        problem = err instanceof StrongroomError ? err.message : 'the audit log is not open';
      } finally {
        connecting = null;
      }
    })();
    return connecting;
  }

  const usable = () => audit !== null && audit.healthy();

  return {
    current: () => audit,
    forRequest() {
      if (deps.barrier.isSealed()) return null;
      if (usable()) return audit;
      void connect();
      throw new StrongroomError(
        'unavailable',
        problem ? `the audit log is not available: ${problem}` : 'the audit log is not available yet; retry shortly',
      );
    },
    lifecycle: {
      async afterUnseal() {
        if (!usable()) await connect();
      },
      async beforeSeal() {},
    },
    health() {
      if (deps.barrier.isSealed() || usable()) return { healthy: true };
      return { healthy: false, message: `the audit log is not available${problem ? `: ${problem}` : ''}` };
    },
    // Devices are the audit thread's: an enable through any thread is seen by all through its shared device count.
    syncDevices: async () => false,
    stopRetries() {},
    async close() {
      if (connecting) await connecting;
      await audit?.close();
    },
  };
}
