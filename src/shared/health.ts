/**
 * One thing `sys/health` asks about besides the seal (storage, audit devices, ...). Each domain that can make the
 * process unable to serve contributes a check; the health endpoint runs them all and reports each by name, so a
 * load balancer stops sending traffic while any fails. A check must be cheap: probes call it every few seconds.
 */
export type HealthCheckResult = { healthy: true } | { healthy: false; message: string };

export interface HealthCheck {
  /** Stable, short: "storage", "audit". Shown in the health body. */
  name: string;
  check(): Promise<HealthCheckResult>;
}

export interface HealthReport {
  healthy: boolean;
  checks: Array<{ name: string; healthy: boolean; message?: string }>;
}

/** Runs every check concurrently; a check that throws counts as failing with a generic message (never its text). */
export async function runHealthChecks(checks: readonly HealthCheck[]): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        const result = await c.check();
        return result.healthy
          ? { name: c.name, healthy: true }
          : { name: c.name, healthy: false, message: result.message };
      } catch {
        return { name: c.name, healthy: false, message: `${c.name} health check failed; see the server log` };
      }
    }),
  );
  return { healthy: results.every((r) => r.healthy), checks: results };
}
