/**
 * When a token expires, and the hard limit renewals cannot pass. Pure, so the rules are testable on their own.
 *
 * Rules (Vault's token store):
 *  - periodic token: lives `period`, every renewal resets it to `period`; no system max, only an explicit max.
 *  - otherwise: `ttl` (or the default TTL when 0), capped by the explicit max TTL and the system max TTL.
 *  - a root-policy token asked for no TTL never expires (Vault's root tokens).
 *  - a child never outlives its parent's hard limit.
 */
export interface LifetimeInput {
  now: number;
  ttl: number;
  explicitMaxTtl: number;
  period: number;
  isRootPolicy: boolean;
  defaultTtl: number;
  systemMaxTtl: number;
  /** The parent's hard limit in epoch ms; 0 = none or no parent. */
  parentMaxExpireTime: number;
}

export interface Lifetime {
  /** Seconds the token was granted at creation. */
  creationTtl: number;
  /** Epoch ms, 0 = never. */
  expireTime: number;
  /** Epoch ms, 0 = no hard limit. */
  maxExpireTime: number;
}

export function computeLifetime(input: LifetimeInput): Lifetime {
  const { now } = input;
  const limits: number[] = [];
  if (input.explicitMaxTtl > 0) limits.push(now + input.explicitMaxTtl * 1000);
  if (input.period === 0 && input.systemMaxTtl > 0 && !(input.isRootPolicy && input.ttl === 0)) {
    limits.push(now + input.systemMaxTtl * 1000);
  }
  if (input.parentMaxExpireTime > 0) limits.push(input.parentMaxExpireTime);
  const maxExpireTime = limits.length ? Math.min(...limits) : 0;

  let ttl: number;
  if (input.period > 0) ttl = input.period;
  else if (input.ttl > 0) ttl = input.ttl;
  else if (input.isRootPolicy) ttl = 0;
  else ttl = input.defaultTtl;

  let expireTime = ttl > 0 ? now + ttl * 1000 : 0;
  if (maxExpireTime > 0 && (expireTime === 0 || expireTime > maxExpireTime)) expireTime = maxExpireTime;
  const creationTtl = expireTime === 0 ? 0 : Math.max(0, Math.round((expireTime - now) / 1000));
  return { creationTtl, expireTime, maxExpireTime };
}

/** The new expiry after a renewal asking for `increment` seconds (0 = the token's own TTL or period). */
export function renewedExpireTime(
  now: number,
  token: { period: number; creationTtl: number; maxExpireTime: number },
  increment: number,
): number {
  const seconds = token.period > 0 ? token.period : increment > 0 ? increment : token.creationTtl;
  const wanted = now + seconds * 1000;
  return token.maxExpireTime > 0 ? Math.min(wanted, token.maxExpireTime) : wanted;
}
