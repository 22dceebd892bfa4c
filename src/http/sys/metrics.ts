import { definePath, type BackendPath } from '../../logical/backend.js';
import { f } from '../../logical/schema.js';
import type { HttpDeps } from '../deps.js';

/** sys/metrics: Prometheus exposition (?format=prometheus) or prom-client's JSON. Token required, like Vault. */
export function metricsPaths(deps: Pick<HttpDeps, 'metrics' | 'seal'>): BackendPath[] {
  return [
    definePath({
      name: 'sys.metrics',
      pattern: 'metrics',
      skipAudit: true,
      synopsis: "The server's metrics.",
      queryFields: {
        format: f.enum(['prometheus', 'json'], 'prometheus for the Prometheus exposition format; JSON otherwise.'),
      },
      operations: {
        read: async (ctx) => {
          deps.metrics.setSealed(deps.seal.barrier.isSealed());
          const registry = deps.metrics.registry;
          if (ctx.input.format === 'prometheus') {
            return { raw: await registry.metrics(), contentType: registry.contentType };
          }
          return { data: { metrics: await registry.getMetricsAsJSON() } };
        },
      },
    }),
  ];
}
