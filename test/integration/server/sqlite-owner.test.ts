import { afterAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../support/server-process.js';
import { vaultClient } from './client.js';

// A SQLite data directory has one server at a time: the server counts its own writes to know when its read cache is
// stale, which is exact only while no other process writes the file. PostgreSQL is where several servers share data.
describe('one server per SQLite data directory (real server processes)', () => {
  const started: StartedServer[] = [];
  afterAll(async () => {
    for (const server of started.reverse()) await server.stop();
  });

  it('refuses a second server on the same data directory, and lets the next one in once the first has stopped', async () => {
    const first = await startServer();
    started.push(first);
    await vaultClient(first.url, first.rootToken).write('secret/data/owner', { data: { value: 'from-first' } });

    const refused = startServer({ dataDir: first.dataDir, rootToken: first.rootToken, timeoutMs: 15_000 });
    await expect(refused).rejects.toThrow(
      /exited with code [1-9]\d* before listening[\s\S]*in use by another Strongroom server/,
    );
    // The first server is untouched by the attempt.
    expect((await vaultClient(first.url, first.rootToken).read('secret/data/owner')).data.data).toEqual({
      value: 'from-first',
    });

    expect(await first.stop({ keepDataDir: true })).toBe(0);
    const next = await startServer({ dataDir: first.dataDir, rootToken: first.rootToken });
    started.push(next);
    expect((await vaultClient(next.url, next.rootToken).read('secret/data/owner')).data.data).toEqual({
      value: 'from-first',
    });
  });

  it('takes the directory over from a server that was killed without a chance to clean up', async () => {
    const killed = await startServer();
    started.push(killed);
    killed.proc.kill('SIGKILL');
    await new Promise((resolve) => killed.proc.once('exit', resolve));
    const next = await startServer({ dataDir: killed.dataDir, rootToken: killed.rootToken });
    started.push(next);
    expect((await vaultClient(next.url, next.rootToken).health()).sealed).toBe(false);
  });
});
