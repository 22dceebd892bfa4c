import type { Registry } from 'prom-client';

/**
 * The two per-request metrics (requests by route and status, latency by route), kept in plain arrays and rendered
 * for prom-client's registry only when scraped. prom-client's own Counter/Histogram hash a label object on every
 * observation, which cost more than routing a request; here an observation is a map lookup, a bucket search and
 * three additions.
 *
 * The metric names, types and labels are exactly what the prom-client classes produced (tests and dashboards rely on
 * them): `strongroom_http_requests_total{route,status}` and `strongroom_http_request_duration_seconds{route}` with
 * cumulative `le` buckets, `_sum` and `_count`.
 */
export interface RequestMetrics {
  observe(route: string, status: number, seconds: number): void;
}

interface RouteStats {
  /** Non-cumulative counts; index i counts values in (bounds[i-1], bounds[i]], the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
  byStatus: Map<number, number>;
}

/** prom-client's view of a metric: what Registry.metrics() and getMetricsAsJSON() read. */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export function registerRequestMetrics(registry: Registry, bounds: readonly number[]): RequestMetrics {
  for (let i = 1; i < bounds.length; i++) {
    if (!(bounds[i]! > bounds[i - 1]!)) throw new Error('histogram bounds must increase');
  }
  const stats = new Map<string, RouteStats>();

  const statsFor = (route: string): RouteStats => {
    let s = stats.get(route);
    if (!s) {
      s = { buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0, byStatus: new Map() };
      stats.set(route, s);
    }
    return s;
  };

  const custom = (name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]) => ({
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, values: values(), aggregator: 'sum' }),
    reset() {
      stats.clear();
    },
  });

  const counter = custom(
    'strongroom_http_requests_total',
    'HTTP API requests by route template and status code.',
    'counter',
    () => {
      const values: MetricValue[] = [];
      for (const [route, s] of stats) {
        for (const [status, count] of s.byStatus)
          values.push({ labels: { route, status: String(status) }, value: count });
      }
      return values;
    },
  );

  const histogramName = 'strongroom_http_request_duration_seconds';
  const histogram = custom(histogramName, 'HTTP API request latency by route template.', 'histogram', () => {
    const values: MetricValue[] = [];
    for (const [route, s] of stats) {
      let cumulative = 0;
      for (let i = 0; i <= bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({
          labels: { le: i < bounds.length ? bounds[i]! : '+Inf', route },
          value: cumulative,
          metricName: `${histogramName}_bucket`,
        });
      }
      values.push({ labels: { route }, value: s.sum, metricName: `${histogramName}_sum` });
      values.push({ labels: { route }, value: s.count, metricName: `${histogramName}_count` });
    }
    return values;
  });

  // prom-client accepts any object with this shape (it is how its own classes register).
  registry.registerMetric(counter as unknown as Parameters<Registry['registerMetric']>[0]);
  registry.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);

  return {
    observe(route, status, seconds) {
      const s = statsFor(route);
      s.byStatus.set(status, (s.byStatus.get(status) ?? 0) + 1);
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i++;
      s.buckets[i]! += 1;
      s.sum += seconds;
      s.count += 1;
    },
  };
}
