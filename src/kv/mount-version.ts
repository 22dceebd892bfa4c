import type { Mount } from '../mounts/types.js';

export type KvVersion = 1 | 2;

/**
 * Which KV API a kv mount speaks. Mounts written before KV v1 existed carry no version and were all v2. Vault's rule
 * for a new mount (plain `kv` = v1) is applied when the mount is enabled, not here.
 */
export function kvVersionOf(mount: Pick<Mount, 'options'>): KvVersion {
  return mount.options.version === '1' ? 1 : 2;
}
