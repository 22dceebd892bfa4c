import { randomBytes } from 'node:crypto';
import { link, open, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Filesystems without hard links answer link() with one of these; there the file is created in place instead. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Creates `path` holding `content`, failing with EEXIST when anything is already there, so that nobody — another
 * process, or this one after a crash or a full disk — ever finds the file without its whole content. The content is
 * written and synced under a temporary name first, then hard-linked into place (link() is atomic and never
 * overwrites); the temporary name goes in every case. With `syncDirectory`, the new name is durable as well.
 */
export async function createFileWithContent(
  path: string,
  content: Uint8Array,
  mode: number,
  options: { syncDirectory?: boolean } = {},
): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeNew(temporary, content, mode);
    try {
      await link(temporary, path);
    } catch (err) {
      if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await writeNew(path, content, mode, { removeOnFailure: true });
    }
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  if (options.syncDirectory) await syncDirectory(dirname(path));
}

async function writeNew(
  path: string,
  content: Uint8Array,
  mode: number,
  options: { removeOnFailure?: boolean } = {},
): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode); // the umask may only remove bits; be explicit about the result
    await handle.writeFile(content);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    if (options.removeOnFailure) await unlink(path).catch(() => undefined);
    throw err;
  }
  await handle.close();
}

/** A new file's directory entry must be synced too, or a power loss can take the whole file away. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
