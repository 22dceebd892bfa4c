import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Mount } from '../../../src/mounts/types.js';
import type { StorageConfig } from '../../../src/storage/database.js';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Next stdout line (lines are queued, so none is lost between calls). */
  nextLine(): Promise<string>;
  lines: Interface;
  /** Every stdout line seen so far, in order. */
  all: string[];
  stderr(): string;
  /** Resolves once stdout has closed (every line the process wrote has been read). */
  closed: Promise<void>;
}

/** Starts one of this folder's scripts under tsx as a separate process (a separate "replica"). */
export function startChild(
  script: 'writer.ts' | 'racer.ts',
  config: StorageConfig,
  keyFile: string,
  mount: Mount,
): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', `${here}${script}`, JSON.stringify(config), keyFile, JSON.stringify(mount)],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const queue: string[] = [];
  const all: string[] = [];
  const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  const waiting: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  lines.on('line', (line) => {
    all.push(line);
    const w = waiting.shift();
    if (w) w.resolve(line);
    else queue.push(line);
  });
  child.on('exit', (code, signal) => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`${script} exited (${code ?? signal}) before answering: ${err.slice(-2000)}`));
  });
  return {
    process: child,
    lines,
    all,
    closed,
    stderr: () => err,
    nextLine: () => {
      const line = queue.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.reject(new Error(`${script} has exited: ${err.slice(-2000)}`));
      }
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}
