/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: acquire when the lease
 * is free or expired (optimistic concurrency through resourceVersion decides races), renew every retry period, give
 * up leadership if renewals fail for the renew deadline, and release on shutdown so a standby takes over at once.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  log: (message: string) => void;
}

const micro = (d: Date) => d;

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private stopped = false;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private wake: (() => void) | undefined;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves when this replica becomes leader; calls `onLost` if leadership is lost later. */
  async acquire(onLost: () => void): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.lastRenew = Date.now();
        this.options.log(
          `became leader (lease ${this.options.namespace}/${this.options.name}, identity ${this.options.identity})`,
        );
        this.renewLoop(onLost);
        return;
      }
      await this.sleep(this.options.retryPeriodMs);
    }
    throw new Error('stopped before becoming leader');
  }

  private renewLoop(onLost: () => void): void {
    const step = async () => {
      if (this.stopped || !this.leading) return;
      const ok = await this.tryAcquireOrRenew();
      if (ok) this.lastRenew = Date.now();
      else if (Date.now() - this.lastRenew > this.options.renewDeadlineMs) {
        this.leading = false;
        this.options.log('lost leadership: could not renew the lease in time');
        onLost();
        return;
      }
      this.timer = setTimeout(() => void step(), this.options.retryPeriodMs);
    };
    this.timer = setTimeout(() => void step(), this.options.retryPeriodMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private spec(acquireTime: Date | undefined, transitions: number) {
    const now = new Date();
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.options.leaseDurationMs / 1000)),
      acquireTime: micro(acquireTime ?? now),
      renewTime: micro(now),
      leaseTransitions: transitions,
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) return false;
    }
    try {
      if (!lease) {
        await this.api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: this.spec(undefined, 0) },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const expired = renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < Date.now();
      if (holder !== identity && holder !== '' && !expired) return false;
      const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      const acquireTime = holder === identity && spec.acquireTime ? new Date(spec.acquireTime) : undefined;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: this.spec(acquireTime, transitions) },
      });
      return true;
    } catch {
      // 409: someone else won the race (or renewed); any other error: try again next period.
      return false;
    }
  }

  /** Stops renewing and, if leading, hands the lease back (empty holder, 1 s duration) for a fast takeover. */
  async release(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity } = this.options;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date() } },
      });
      this.options.log('released the leader lease');
    } catch {
      // The lease expires on its own.
    }
  }
}
