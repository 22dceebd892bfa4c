import type { BackendPath } from '../../logical/backend.js';
import type { HttpDeps } from '../deps.js';

/** sys/metrics: Prometheus exposition (?format=prometheus) or prom-client's JSON. Token required, like Vault. */
export function metricsPaths(deps: Pick<HttpDeps, 'metrics' | 'seal'>): BackendPath[] {
  return [
    {
      name: 'sys.metrics',
      pattern: 'metrics',
      skipAudit: true,
      operations: {
        read: async (ctx) => {
          deps.metrics.setSealed(deps.seal.barrier.isSealed());
          const registry = deps.metrics.registry;
          if (ctx.query.format === 'prometheus') {
            return { raw: await registry.metrics(), contentType: registry.contentType };
          }
          return { data: { metrics: await registry.getMetricsAsJSON() } };
        },
      },
    },
  ];
}
