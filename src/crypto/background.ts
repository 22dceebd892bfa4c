import { StrongroomError } from '../shared/errors.js';

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The seal service's background work (usage reservations, automatic rotation, keyring refresh): nobody awaits it, so
 * failures are reported here, and `whenIdle` lets shutdown and tests wait for it to settle.
 */
export class BackgroundWork {
  readonly #warn: (message: string) => void;
  readonly #running = new Set<Promise<unknown>>();
  #failing = false;

  constructor(warn: (message: string) => void) {
    this.#warn = warn;
  }

  track(work: Promise<unknown>, what: string): void {
    const tracked = work.then(
      () => {
        this.#failing = false;
      },
      (err: unknown) => {
        if (err instanceof StrongroomError && err.kind === 'sealed') return;
        // Report the first failure of a streak only, so a database outage does not flood the log.
        if (!this.#failing) this.#warn(`${what} failed: ${errorMessage(err)}`);
        this.#failing = true;
      },
    );
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }

  async whenIdle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}
