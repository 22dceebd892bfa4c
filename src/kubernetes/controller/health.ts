/**
 * What `/readyz` answers: every informer has listed once and is watching, and none has been failing to reach the API
 * server for longer than a grace period. The grace keeps one dropped watch (an API server rollout, a load balancer
 * closing idle connections) from flapping readiness; an API server that stays away makes the operator unready, so
 * `kubectl get pods` and alerts tell the truth instead of a green pod that syncs nothing.
 */

export interface Readiness {
  ready: boolean;
  /** Why not, one short line per informer (empty when ready). Never secret data: resources and error codes only. */
  reasons: string[];
}

/** What one informer reports about itself. */
export interface InformerReporter {
  /** A watch is established (after a list, or a re-watch from the last resource version). */
  watching(): void;
  /** A list or watch failed; the informer retries on its own. */
  failed(err: unknown): void;
}

export interface InformerHealth {
  track(name: string): InformerReporter;
  readiness(): Readiness;
}

interface State {
  /** Listed and watched at least once. */
  synced: boolean;
  /** When the current run of failures began; undefined while the watch is up. */
  failingSince?: number;
  lastError?: string;
}

/** A short, secret-free description of a Kubernetes client error: the HTTP status, else the first line of the message. */
export function describeKubeError(err: unknown): string {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown } | undefined;
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined) return `HTTP ${status}`;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // node-fetch says "request to <url> failed, reason: connect ECONNREFUSED ...": the reason is the news, not the URL.
  const first = message.split('\n')[0]!.trim();
  const line = /\bfailed, reason: (.+)$/.exec(first)?.[1] ?? first;
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

export function createInformerHealth(options: { graceMs: number; now?: () => number }): InformerHealth {
  const now = options.now ?? Date.now;
  const states = new Map<string, State>();
  return {
    track(name) {
      const state: State = { synced: false };
      states.set(name, state);
      return {
        watching() {
          state.synced = true;
          state.failingSince = undefined;
          state.lastError = undefined;
        },
        failed(err) {
          state.failingSince ??= now();
          state.lastError = describeKubeError(err);
        },
      };
    },
    readiness() {
      if (states.size === 0) return { ready: false, reasons: ['informers not started yet'] };
      const reasons: string[] = [];
      for (const [name, state] of states) {
        const cause = state.lastError ? ` (${state.lastError})` : '';
        if (!state.synced) reasons.push(`${name}: not listed and watching yet${cause}`);
        else if (state.failingSince !== undefined && now() - state.failingSince >= options.graceMs)
          reasons.push(
            `${name}: cannot reach the Kubernetes API for ${Math.round((now() - state.failingSince) / 1000)}s${cause}`,
          );
      }
      return { ready: reasons.length === 0, reasons };
    },
  };
}
