/**
 * Publishes the operator's summary to the store every interval (and within a second or so of a rollout moving), and
 * applies the rollout controls the store hands back: the same annotations `strongroom rollout …` sets, through the
 * same function. Each control is acknowledged with the next publish: applied, or rejected with the reason.
 *
 * Runs only on the leader (the operator starts it with its controllers), so several replicas never publish over each
 * other or apply a control twice. A control delivered again (the acknowledgement was lost) is not applied again; and
 * its request id is the control's id, so even a new leader setting it again asks the rollout controller only once.
 */
import { ApiError, type Client } from '../../client/index.js';
import type { ClusterSummary, Control } from '../../shared/cluster-summary.js';
import { RolloutControlRefused } from '../rollout/request.js';

export type ControlOutcome = { state: 'applied' | 'rejected'; message?: string };

export interface PublisherOptions {
  client: Pick<Client, 'write'>;
  cluster: string;
  intervalMs: number;
  build(): Promise<ClusterSummary>;
  /** Cheap to compute; a change means a rollout moved and the summary should go out soon. */
  fingerprint(): string;
  /** Sets the control's annotation; throws RolloutControlRefused (or a Kubernetes error) when it cannot. */
  apply(control: Control): Promise<void>;
  /** The store refused our token: a login-based token source logs in again. */
  onForbidden?(): void;
  log(message: string): void;
  /** How often the fingerprint is compared (default 1 s). */
  checkMs?: number;
}

export interface Publisher {
  /** Publishes once now (tests, and the first publish after start). */
  publishNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Controls remembered after applying them, so a repeated delivery is acknowledged, not applied again. */
const REMEMBERED = 1000;

function outcomeOfError(err: unknown, control: Control): ControlOutcome | undefined {
  if (err instanceof RolloutControlRefused) return { state: 'rejected', message: err.message };
  const code = (err as { code?: number }).code;
  if (code === 404)
    return { state: 'rejected', message: `ExternalSecret ${control.namespace}/${control.external_secret} not found` };
  if (code === 403)
    return {
      state: 'rejected',
      message: `the operator may not change ExternalSecrets in namespace ${control.namespace}`,
    };
  // Anything else (the API server unreachable, a conflict): not acknowledged, so the store delivers it again.
  return undefined;
}

export function startPublisher(options: PublisherOptions): Publisher {
  const checkMs = options.checkMs ?? 1000;
  const done = new Map<string, ControlOutcome>();
  const pending = new Map<string, ControlOutcome & { id: string }>();
  let stopped = false;
  let lastError: string | undefined;
  let published = false;
  let inFlight: Promise<void> | undefined;
  let wake: () => void = () => undefined;

  const remember = (id: string, outcome: ControlOutcome) => {
    done.set(id, outcome);
    if (done.size > REMEMBERED) done.delete(done.keys().next().value!);
  };

  /** Returns true when controls were applied (their outcome should reach the store soon). */
  async function publishOnce(): Promise<boolean> {
    const acknowledged = [...pending.values()];
    let answer;
    try {
      const summary = await options.build();
      answer = await options.client.write(`sys/clusters/${options.cluster}`, { ...summary, acknowledged });
    } catch (err) {
      const text = err instanceof ApiError ? err.message : (err as Error).message;
      if (text !== lastError) options.log(`publishing the cluster summary failed (retrying every interval): ${text}`);
      lastError = text;
      if (err instanceof ApiError && err.status === 403) options.onForbidden?.();
      return false;
    }
    if (!published || lastError !== undefined)
      options.log(`published the cluster summary as cluster ${options.cluster}`);
    published = true;
    lastError = undefined;
    for (const ack of acknowledged) pending.delete(ack.id);
    let applied = false;
    const controls: Control[] = Array.isArray(answer?.data?.controls) ? answer.data.controls : [];
    for (const control of controls) {
      const known = done.get(control.id);
      if (known) {
        pending.set(control.id, { id: control.id, ...known });
        applied = true;
        continue;
      }
      let outcome: ControlOutcome | undefined;
      try {
        await options.apply(control);
        outcome = { state: 'applied' };
      } catch (err) {
        outcome = outcomeOfError(err, control);
        if (!outcome)
          options.log(
            `control ${control.action} for ${control.namespace}/${control.external_secret} failed; will retry: ${(err as Error).message}`,
          );
      }
      if (!outcome) continue;
      options.log(
        `control ${control.action} for ExternalSecret ${control.namespace}/${control.external_secret} requested by ${control.requested_by}: ${outcome.state}${outcome.message ? ` (${outcome.message})` : ''}`,
      );
      remember(control.id, outcome);
      pending.set(control.id, { id: control.id, ...outcome });
      applied = true;
    }
    return applied;
  }

  const publishNow = () => {
    inFlight ??= publishOnce()
      .then(() => undefined)
      .finally(() => (inFlight = undefined));
    return inFlight;
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    let fingerprint = options.fingerprint();
    while (!stopped) {
      let soon = false;
      if (inFlight) await inFlight;
      else {
        const run = publishOnce();
        inFlight = run.then(() => undefined).finally(() => (inFlight = undefined));
        soon = await run;
      }
      // Outcomes of controls go out right away; otherwise wait an interval, or until a rollout moves.
      const due = Date.now() + (soon ? Math.min(500, options.intervalMs) : options.intervalMs);
      while (!stopped && Date.now() < due) {
        await sleep(Math.min(checkMs, due - Date.now()));
        const next = options.fingerprint();
        if (next !== fingerprint) {
          fingerprint = next;
          break;
        }
      }
    }
  })();

  return {
    publishNow,
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
