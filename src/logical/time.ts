/** RFC 3339 with milliseconds, as Vault renders times; '' for 0 ("never", e.g. an undeleted version). */
export function rfc3339(epochMs: number): string {
  return epochMs > 0 ? new Date(epochMs).toISOString() : '';
}

/** Seconds remaining until `epochMs` (0 when it is 0 = never, or already past). */
export function secondsUntil(epochMs: number, now = Date.now()): number {
  return epochMs > 0 ? Math.max(0, Math.round((epochMs - now) / 1000)) : 0;
}
