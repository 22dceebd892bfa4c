import type { AuditLog } from '../audit/broker.js';
import { createSystemAudit } from '../audit/system-audit.js';
import type { Barrier, Rewrapper } from '../crypto/types.js';
import type { Metrics } from '../http/metrics.js';
import { createExpirationManager, type ExpirationLog, type ExpirationManager } from '../leases/expiration.js';
import { createLeaseService } from '../leases/service.js';
import type { LeaseService } from '../leases/types.js';
import type { SystemAudit } from '../logical/module.js';
import type { MountService } from '../mounts/types.js';
import type { Storage } from '../storage/database.js';
import type { ModuleHost } from './module-host.js';
import type { Registry } from './modules.js';

/** The lease service, its expiration manager and the system audit, wired as the store (and the test harness) needs. */
export interface LeaseWiring {
  leases: LeaseService;
  systemAudit: SystemAudit;
  /** Starts revoking on time; `isSealed` pauses it. */
  startExpiration(log: ExpirationLog, isSealed: () => boolean): void;
  /** The running manager, for tests (null before start). */
  expiration(): ExpirationManager | null;
  stopExpiration(): Promise<void>;
  /** Removes leases whose mount is gone (a periodic job). */
  tidy(): Promise<number>;
}

export function wireLeases(input: {
  storage: Storage;
  barrier: Barrier;
  /** Secrets mounts: each type's disable first revokes the mount's leases (refused when that fails, as Vault). */
  mounts: MountService;
  registry: Registry;
  metrics: Pick<Metrics, 'leaseCounters' | 'setLeaseStats'>;
  /** The store's audit accessor (null while sealed; throws 'unavailable' while the audit log is not open). */
  audit: () => AuditLog | null;
  /** The modules, bound late: they are built from a core that holds the lease service. */
  modules: () => ModuleHost | null;
  now?: () => number;
  seal?: { registerRewrapper(rewrapper: Rewrapper): void };
}): LeaseWiring {
  const host = (): ModuleHost => {
    const modules = input.modules();
    if (!modules) throw new Error('leases are used before the modules are started');
    return modules;
  };
  const systemAudit = createSystemAudit({ audit: input.audit });
  let manager: ExpirationManager | null = null;
  const leases = createLeaseService({
    storage: input.storage,
    barrier: input.barrier,
    dispatch: {
      revokeLease: (lease) => host().revokeLease(lease),
      renewLease: (lease, expireTime) => host().renewLease(lease, expireTime),
    },
    systemAudit,
    counters: input.metrics.leaseCounters,
    mountUuids: async () => new Set((await input.mounts.list()).map((m) => m.uuid)),
    onDue: () => manager?.kick(),
    ...(input.now ? { now: input.now } : {}),
  });
  // Registered before the modules' own purge hooks (startModules), so a mount's leases go before its records do.
  for (const engine of input.registry.secrets)
    input.mounts.onDisable(engine.type, (mount) => leases.revokeMount(mount.uuid));
  input.metrics.setLeaseStats(() => leases.stats());
  input.seal?.registerRewrapper(leases.rewrapper);

  return {
    leases,
    systemAudit,
    startExpiration(log, isSealed) {
      if (manager) return;
      manager = createExpirationManager({
        storage: input.storage,
        revoker: leases.revoker,
        owner: leases.owner,
        isSealed,
        log,
        ...(input.now ? { now: input.now } : {}),
      });
      manager.start();
    },
    expiration: () => manager,
    async stopExpiration() {
      await manager?.stop();
    },
    tidy: () => leases.tidy(),
  };
}
