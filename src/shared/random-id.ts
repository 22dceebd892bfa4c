import { randomInt } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random identifier of letters and digits (Vault's accessors and lease ids are 24 of them): uniform over the
 * alphabet (crypto.randomInt rejects biased draws), and safe wherever ids travel: URL paths, shell arguments
 * (never a leading '-' a CLI would read as a flag), log lines.
 */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(BASE62.length)];
  return out;
}
