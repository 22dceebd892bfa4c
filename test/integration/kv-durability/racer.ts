import { createInterface } from 'node:readline';
import { isStrongroomError } from '../../../src/shared/errors.js';
import { openChild } from './child-common.js';

/**
 * One side of a check-and-set race. For every stdin line "<round> <path> <cas>" it writes once with that cas and
 * answers "<round> ok <version>" or "<round> mismatch <currentVersion>". It prints "ready" once unsealed.
 */
const { kv, mount } = await openChild();
const me = process.pid;
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [round, path, cas] = line.trim().split(' ');
  if (!round || !path || cas === undefined) continue;
  try {
    const info = await kv.write(mount, path, { writer: me, round: Number(round) }, { cas: Number(cas) });
    process.stdout.write(`${round} ok ${info.version}\n`);
  } catch (err) {
    if (isStrongroomError(err, 'invalid') && err.details?.reason === 'cas_mismatch') {
      process.stdout.write(`${round} mismatch ${String(err.details.currentVersion)}\n`);
    } else {
      process.stdout.write(`${round} error ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}
process.exit(0);
