import { openChild } from './child-common.js';

/**
 * Writes versions of one secret as fast as it can and prints each version once its write has returned, i.e. once
 * the commit is acknowledged. The parent SIGKILLs this process mid-stream and checks that every printed version
 * survived.
 */
const { kv, mount } = await openChild();
for (let i = 1; ; i++) {
  const info = await kv.write(mount, 'durable/secret', { i, value: `value-${i}` });
  process.stdout.write(`${info.version}\n`);
}
