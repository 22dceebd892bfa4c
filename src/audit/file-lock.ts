import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { StrongroomError } from '../shared/errors.js';

/**
 * One writer per audit file: two processes appending to one path would interleave two chains and break both.
 * The lock is a sibling file created with O_EXCL holding "pid@host". A lock left by a crashed process on this host
 * (its pid no longer exists) is taken over; a live holder, or one on another host, makes opening fail with a clear
 * error instead of silently forking the chain.
 */
export async function acquireFileLock(filePath: string): Promise<() => Promise<void>> {
  const lockPath = `${filePath}.lock`;
  const owner = `${process.pid}@${hostname()}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(owner);
      } finally {
        await handle.close();
      }
      return async () => {
        // Only remove the lock if it is still ours (a person may have cleared it by hand).
        const current = await readFile(lockPath, 'utf8').catch(() => '');
        if (current === owner) await unlink(lockPath).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = (await readFile(lockPath, 'utf8').catch(() => '')).trim();
      if (attempt === 0 && isStale(holder)) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      throw new StrongroomError(
        'unavailable',
        `audit file ${filePath} is already being written by ${holder || 'another process'} (lock ${lockPath}); ` +
          'give each process its own file, or remove the lock if that process is gone',
      );
    }
  }
  throw new StrongroomError('unavailable', `audit file ${filePath}: could not take the lock ${lockPath}`);
}

function isStale(holder: string): boolean {
  const match = /^(\d+)@(.+)$/.exec(holder);
  if (!match) return false;
  const pid = Number(match[1]);
  if (match[2] !== hostname()) return false; // cannot tell whether a process on another host lives
  if (pid === process.pid) return false; // this process holds it (a second device on the same path)
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
