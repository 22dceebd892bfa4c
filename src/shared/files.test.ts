import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireFileLock } from '../audit/file-lock.js';
import { createKeyFile } from '../crypto/keyfile.js';
import { createFileWithContent } from './files.js';

/**
 * A full disk for real: a 64 KiB tmpfs mounted in a mount namespace of its own (needs root and unshare), reached
 * from this process through /proc/<pid>/root of the process holding the namespace. Skipped where that is not possible.
 */
const canMount = process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/unshare');
const holders: ChildProcess[] = [];
afterAll(() => {
  for (const holder of holders) holder.kill('SIGKILL');
});

async function smallTmpfs(): Promise<string> {
  const mountPoint = mkdtempSync(join(tmpdir(), 'strongroom-lock-tmpfs-'));
  const holder = spawn(
    'unshare',
    ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k tmpfs ${mountPoint} && echo mounted && exec sleep 600`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  holders.push(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`tmpfs holder exited with ${code}`)));
  });
  return `/proc/${holder.pid}/root${mountPoint}`;
}

function fill(dir: string): string {
  const filler = join(dir, 'filler');
  try {
    writeFileSync(filler, Buffer.alloc(1024 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  return filler;
}

describe.skipIf(!canMount)('files that must appear whole, on a full disk', () => {
  it('leaves no empty lock behind when the disk is full, so the device opens once space is back', async () => {
    const dir = await smallTmpfs();
    const file = join(dir, 'audit.log');
    const filler = fill(dir);
    await expect(acquireFileLock(file)).rejects.toMatchObject({ code: 'ENOSPC' });
    // Nothing claims the file: no lock without an owner in it (a later start could not tell who holds it).
    expect(existsSync(`${file}.lock`)).toBe(false);

    rmSync(filler);
    const release = await acquireFileLock(file);
    expect(readFileSync(`${file}.lock`, 'utf8')).toMatch(new RegExp(`^${process.pid}@`));
    await release();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('creates no key file and leaves no temporary behind when the disk is full; creates it whole (0600) once space is back', async () => {
    const dir = await smallTmpfs();
    const path = join(dir, 'dev-unseal.key');
    const filler = fill(dir);
    await expect(createKeyFile(path)).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringMatching(/cannot be created: ENOSPC/),
    });
    expect(readdirSync(dir)).toEqual(['filler']);
    rmSync(filler);
    const key = await createKeyFile(path);
    expect(readFileSync(path, 'latin1').trim()).toBe(key.toString('base64'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['dev-unseal.key']);
  });
});

describe('createFileWithContent', () => {
  it('never replaces an existing file, and leaves no temporary name behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strongroom-files-'));
    try {
      const path = join(dir, 'lock');
      await createFileWithContent(path, Buffer.from('first'), 0o600);
      await expect(createFileWithContent(path, Buffer.from('second'), 0o600)).rejects.toMatchObject({ code: 'EEXIST' });
      expect(readFileSync(path, 'utf8')).toBe('first');
      expect(readdirSync(dir)).toEqual(['lock']);
      // Racing creators: exactly one wins, and the file holds the winner's whole content.
      const racers = await Promise.allSettled(
        ['a', 'b', 'c', 'd'].map((who) =>
          createFileWithContent(join(dir, 'raced'), Buffer.from(who.repeat(1000)), 0o600),
        ),
      );
      expect(racers.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(readFileSync(join(dir, 'raced'), 'utf8')).toMatch(/^(a{1000}|b{1000}|c{1000}|d{1000})$/);
      expect(readdirSync(dir).sort()).toEqual(['lock', 'raced']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
