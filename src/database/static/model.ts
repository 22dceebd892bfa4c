import { encodeContext } from '../../crypto/context.js';
import type { Barrier } from '../../crypto/types.js';
import type { StaticRoleRow } from './repository.js';
import type { StaticRole, StaticRoleConfig } from './types.js';

export type StaticBarrier = Pick<Barrier, 'encrypt' | 'decryptWithRefresh' | 'currentTerm'>;

/** The associated data a role's password is bound to: its mount and name (a ciphertext copied elsewhere fails). */
export function staticRoleContext(mountUuid: string, name: string): Buffer {
  return encodeContext('database-static-role', mountUuid, name);
}

export function decodeRole(row: StaticRoleRow): StaticRole {
  return {
    name: row.name,
    mount: { uuid: row.mount_uuid, path: row.mount_path, type: 'database' },
    config: JSON.parse(row.config) as StaticRoleConfig,
    state: {
      generation: row.generation,
      activeIndex: row.active_index === 1 ? 1 : 0,
      lastVaultRotation: row.last_rotation,
      nextRotation: row.next_rotation,
      retireAfter: row.retire_after,
      retiringGeneration: row.retiring_generation,
      failures: row.failures,
      retryAt: row.retry_at,
      inFlight: row.in_flight === 1,
    },
  };
}

export function sealPassword(
  barrier: StaticBarrier,
  mountUuid: string,
  name: string,
  password: string,
): { ciphertext: Buffer; term: number } {
  const plaintext = Buffer.from(password, 'utf8');
  try {
    return { ciphertext: barrier.encrypt(plaintext, staticRoleContext(mountUuid, name)), term: barrier.currentTerm() };
  } finally {
    plaintext.fill(0);
  }
}

export async function openPassword(barrier: StaticBarrier, row: StaticRoleRow): Promise<string | null> {
  if (row.ciphertext === null) return null;
  const plaintext = await barrier.decryptWithRefresh(row.ciphertext, staticRoleContext(row.mount_uuid, row.name));
  try {
    return plaintext.toString('utf8');
  } finally {
    plaintext.fill(0);
  }
}
