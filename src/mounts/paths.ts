import { invalid } from '../shared/errors.js';

/** Top-level prefixes that belong to Strongroom itself, never to a secret engine. */
export const RESERVED_MOUNT_PREFIXES = ['sys/', 'auth/', 'cubbyhole/', 'identity/'] as const;

const MAX_MOUNT_PATH_BYTES = 256;
const SEGMENT = /^[A-Za-z0-9_.@:+=,~-]+$/;

/**
 * Canonical form of a mount path: no leading '/', exactly one trailing '/'. 'secret', '/secret' and 'secret/'
 * all name the mount 'secret/'. Throws 'invalid' naming the rule that was broken. `reserved`: the secrets table's
 * reserved prefixes by default; auth mounts (relative to auth/) have none.
 */
export function normalizeMountPath(input: string, reserved: readonly string[] = RESERVED_MOUNT_PREFIXES): string {
  if (typeof input !== 'string') throw invalid('mount path must be a string', { reason: 'mount_path_type' });
  const trimmed = input.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') throw invalid('mount path must not be empty', { reason: 'mount_path_empty' });
  if (Buffer.byteLength(trimmed, 'utf8') + 1 > MAX_MOUNT_PATH_BYTES) {
    throw invalid(`mount path must be at most ${MAX_MOUNT_PATH_BYTES} bytes`, { reason: 'mount_path_too_long' });
  }
  for (const segment of trimmed.split('/')) {
    if (segment === '')
      throw invalid('mount path must not contain empty segments (//)', { reason: 'mount_path_empty_segment' });
    if (segment === '.' || segment === '..') {
      throw invalid("mount path must not contain '.' or '..' segments", { reason: 'mount_path_dot_segment' });
    }
    if (!SEGMENT.test(segment)) {
      throw invalid('mount path may only contain letters, digits, _ . @ : + = , ~ - and /', {
        reason: 'mount_path_bad_char',
      });
    }
  }
  const path = `${trimmed}/`;
  const taken = reserved.find((prefix) => path.startsWith(prefix));
  if (taken) throw invalid(`cannot mount under reserved path ${taken}`, { reason: 'mount_path_reserved' });
  return path;
}

/** Two mounts overlap when one path is a prefix of the other (paths are normalized, so both end in '/'). */
export function mountsOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}
