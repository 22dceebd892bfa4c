import { readFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { StrongroomError } from '../shared/errors.js';
import { createFileWithContent } from '../shared/files.js';

/**
 * One writer per audit file: two processes appending to one path would interleave two chains and break both.
 * The lock is a sibling file that appears with its content "pid@host#starttime" at once (createFileWithContent).
 * A lock left by a process that is gone is taken over: on this host, when that pid does not exist or is a different process (its start time
 * differs — pids are reused, notably when a container restarts in the same pod with the same hostname). A live
 * holder, or one on another host, makes opening fail with a clear error instead of silently forking the chain.
 */
const heldHere = new Set<string>();

export async function acquireFileLock(filePath: string): Promise<() => Promise<void>> {
  const lockPath = `${filePath}.lock`;
  const owner = lockOwner(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      if (heldHere.has(lockPath)) throw Object.assign(new Error('held by this process'), { code: 'EEXIST' });
      // Never an empty lock: one left by a kill or a full disk between create and write could not be told from a
      // live holder, and would keep the device closed until a person removed it.
      await createFileWithContent(lockPath, Buffer.from(owner), 0o600);
      heldHere.add(lockPath);
      return async () => {
        heldHere.delete(lockPath);
        // Only remove the lock if it is still ours (a person may have cleared it by hand).
        const current = await readFile(lockPath, 'utf8').catch(() => '');
        if (current === owner) await unlink(lockPath).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = heldHere.has(lockPath) ? owner : (await readFile(lockPath, 'utf8').catch(() => '')).trim();
      if (attempt === 0 && !heldHere.has(lockPath) && isStale(holder)) {
        await unlink(lockPath).catch(() => undefined);
        continue;
      }
      throw new StrongroomError(
        'unavailable',
        `audit file ${filePath} is already being written by ${holder || 'another process'} (lock ${lockPath}); ` +
          'give each process its own file, or remove the lock if that process is gone',
        { lockedBy: holder || 'another process' },
      );
    }
  }
  throw new StrongroomError('unavailable', `audit file ${filePath}: could not take the lock ${lockPath}`);
}

function lockOwner(pid: number): string {
  const start = startTimeOf(pid);
  return `${pid}@${hostname()}${start === null ? '' : `#${start}`}`;
}

/** Linux: the process start time (clock ticks since boot), field 22 of /proc/<pid>/stat; null elsewhere. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isStale(holder: string): boolean {
  const match = /^(\d+)@([^#]+)(?:#(\d+))?$/.exec(holder);
  if (!match) return false;
  const pid = Number(match[1]);
  if (match[2] !== hostname()) return false; // cannot tell whether a process on another host lives
  // Our own pid, but this process does not hold the lock: a previous incarnation (container restart) left it.
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const recorded = match[3];
  const current = startTimeOf(pid);
  return recorded !== undefined && current !== null && current !== recorded;
}
