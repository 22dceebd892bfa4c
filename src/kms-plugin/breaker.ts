/**
 * A small circuit breaker. After `threshold` consecutive availability failures the circuit opens and calls fail
 * immediately for `cooldownMs` (kube-apiserver retries aggressively; piling up requests on a dead store helps no
 * one). After the cool-down one trial call is let through: success closes the circuit, failure re-opens it.
 */
export interface BreakerOptions {
  threshold: number;
  cooldownMs: number;
  now?: () => number;
}

export class CircuitOpenError extends Error {
  constructor(readonly lastFailure: string) {
    super(`Strongroom is unavailable (circuit open after repeated failures: ${lastFailure})`);
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  #failures = 0;
  #openedAt: number | null = null;
  #trialInFlight = false;
  #lastFailure = '';
  readonly #options: Required<BreakerOptions>;

  constructor(options: BreakerOptions) {
    this.#options = { now: Date.now, ...options };
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#openedAt === null) return 'closed';
    return this.#options.now() - this.#openedAt >= this.#options.cooldownMs ? 'half-open' : 'open';
  }

  get lastFailure(): string {
    return this.#lastFailure;
  }

  /**
   * Runs `call` unless the circuit is open. `isAvailabilityFailure` decides which errors count (a bad ciphertext
   * is the caller's problem, not the store's).
   */
  async run<T>(call: () => Promise<T>, isAvailabilityFailure: (err: unknown) => boolean): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.#trialInFlight))
      throw new CircuitOpenError(this.#lastFailure);
    const trial = state === 'half-open';
    if (trial) this.#trialInFlight = true;
    try {
      const result = await call();
      this.#failures = 0;
      this.#openedAt = null;
      return result;
    } catch (err) {
      if (isAvailabilityFailure(err)) {
        this.#failures += 1;
        this.#lastFailure = err instanceof Error ? err.message : String(err);
        if (trial || this.#failures >= this.#options.threshold) this.#openedAt = this.#options.now();
      } else {
        // The store answered: it is up, whatever it said.
        this.#failures = 0;
        this.#openedAt = null;
      }
      throw err;
    } finally {
      if (trial) this.#trialInFlight = false;
    }
  }
}
