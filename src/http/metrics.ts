import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdmissionStats } from './admission.js';
import { registerRequestMetrics } from './request-metrics.js';

/**
 * Prometheus metrics for one server. Labels are route templates ('kv.data.read') and status codes only — never a
 * raw path (secret names) and never anything from a request body or header.
 */
export interface Metrics {
  readonly registry: Registry;
  observeRequest(route: string, status: number, seconds: number): void;
  setSealed(sealed: boolean): void;
  /** Sampled at scrape time. */
  setAuditQueueDepth(sample: () => number): void;
  /** An audit file was found cut (it ends before, or starts after, its anchor); the label is the device path. */
  countAuditIntegrityFailure(device: string): void;
  /** Admission control (http/admission.ts), sampled at scrape time. */
  setAdmissionStats(sample: () => AdmissionStats): void;
  /** What the lease service counts as it revokes (no lease id ever reaches a label). */
  readonly leaseCounters: { revoked(count?: number): void; revocationFailed(): void };
  /** Lease counts by state and the next expiry, sampled at scrape time from the leases table. */
  setLeaseStats(sample: () => Promise<LeaseStatsSample>): void;
}

/** The lease service's stats (leases/types.ts LeaseStats), as the gauges read them. */
export interface LeaseStatsSample {
  active: number;
  revoking: number;
  failing: number;
  nextDue: number | null;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'strongroom_process_' });
  const requests = registerRequestMetrics(
    registry,
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  const sealed = new Gauge({
    name: 'strongroom_seal_sealed',
    help: '1 while this server is sealed (or not initialized), 0 while unsealed.',
    registers: [registry],
  });
  let queueSample: () => number = () => 0;
  new Gauge({
    name: 'strongroom_audit_queue_depth',
    help: 'Audit entries waiting for the next group commit.',
    registers: [registry],
    collect() {
      this.set(queueSample());
    },
  });
  const integrityFailures = new Counter({
    name: 'strongroom_audit_integrity_failures_total',
    help: 'Audit files refused because their hash chain was cut (ends before, or starts after, its anchor in the database).',
    labelNames: ['device'],
    registers: [registry],
  });
  let admissionSample: () => AdmissionStats = () => ({ inflightRequests: 0, inflightBytes: 0, refused: 0 });
  new Gauge({
    name: 'strongroom_http_inflight_requests',
    help: 'Requests in progress (admitted, not yet answered).',
    registers: [registry],
    collect() {
      this.set(admissionSample().inflightRequests);
    },
  });
  new Gauge({
    name: 'strongroom_http_inflight_request_bytes',
    help: 'Request-body bytes reserved by requests in progress.',
    registers: [registry],
    collect() {
      this.set(admissionSample().inflightBytes);
    },
  });
  new Counter({
    name: 'strongroom_http_requests_refused_total',
    help: 'Requests answered 503 (or cut off) because the in-flight byte or request bound was reached.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(admissionSample().refused);
    },
  });
  const leases = registerLeaseMetrics(registry);
  sealed.set(1);
  return {
    leaseCounters: leases.counters,
    setLeaseStats: leases.setSample,
    registry,
    observeRequest(route, status, seconds) {
      requests.observe(route, status, seconds);
    },
    setSealed(value) {
      sealed.set(value ? 1 : 0);
    },
    setAuditQueueDepth(sample) {
      queueSample = sample;
    },
    countAuditIntegrityFailure(device) {
      integrityFailures.inc({ device });
    },
    setAdmissionStats(sample) {
      admissionSample = sample;
    },
  };
}

/** Leases by state, revocations and their failures, and the seconds until the next expiry (or retry). */
function registerLeaseMetrics(registry: Registry) {
  let sample: (() => Promise<LeaseStatsSample>) | null = null;
  // One scrape reads the table once, however many gauges ask.
  let pending: Promise<LeaseStatsSample | null> | null = null;
  const read = () => {
    pending ??= (sample ? sample().catch(() => null) : Promise.resolve(null)).finally(() => {
      setImmediate(() => (pending = null));
    });
    return pending;
  };
  new Gauge({
    name: 'strongroom_leases',
    help: 'Leases by state: active (waiting for expiry), revoking (due or waiting for a retry), failing (last revocation attempt failed).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const stats = await read();
      if (!stats) return;
      this.set({ state: 'active' }, stats.active);
      this.set({ state: 'revoking' }, stats.revoking);
      this.set({ state: 'failing' }, stats.failing);
    },
  });
  new Gauge({
    name: 'strongroom_leases_next_expiry_seconds',
    help: 'Seconds until the next lease expiry or revocation retry (0 when one is due; absent without leases).',
    registers: [registry],
    async collect() {
      const stats = await read();
      this.reset();
      if (stats?.nextDue !== null && stats?.nextDue !== undefined)
        this.set(Math.max(0, (stats.nextDue - Date.now()) / 1000));
    },
  });
  const revocations = new Counter({
    name: 'strongroom_lease_revocations_total',
    help: 'Leases revoked (their credential ended through the engine, or force-removed).',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'strongroom_lease_revocation_failures_total',
    help: 'Revocation attempts that failed (each is retried with backoff).',
    registers: [registry],
  });
  return {
    counters: {
      revoked: (count = 1) => revocations.inc(count),
      revocationFailed: () => failures.inc(),
    },
    setSample(next: () => Promise<LeaseStatsSample>) {
      sample = next;
    },
  };
}
