/** Prometheus metrics. Labels carry kinds, reasons and provider names only — never names of secrets or values. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'strongroom_operator_' });
  return {
    registry,
    syncs: new Counter({
      name: 'strongroom_operator_syncs_total',
      help: 'Reconciles by kind and result',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'strongroom_operator_sync_errors_total',
      help: 'Failed reconciles by kind and reason',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    providerCalls: new Counter({
      name: 'strongroom_operator_provider_calls_total',
      help: 'Calls to secret stores',
      labelNames: ['provider', 'operation'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'strongroom_operator_reconcile_duration_seconds',
      help: 'Reconcile latency by kind',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'strongroom_operator_queue_depth',
      help: 'Keys waiting in the work queue',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'strongroom_operator_leader',
      help: '1 while this replica holds the leader lease',
      registers: [registry],
    }),
    leaseOperations: new Counter({
      name: 'strongroom_operator_lease_operations_total',
      help: 'Generated credentials issued, and their leases renewed and revoked, by result',
      labelNames: ['operation', 'result'],
      registers: [registry],
    }),
    secretWrites: new Counter({
      name: 'strongroom_operator_secret_writes_total',
      help: 'Target Secret writes by operation',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
