/**
 * src/client against a real Strongroom server: mount detection for KV v1 and v2, values through the version's own
 * paths, the LIST verb, typed 404s and 403s, and a sealed store as a typed error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  NotFoundError,
  createClient,
  describeMount,
  kvListPath,
  kvMount,
  kvValueOf,
  kvValuePath,
  kvVersionOf,
  kvWriteBody,
  type Client,
} from '../../../src/client/index.js';
import { isStrongroomError } from '../../../src/shared/errors.js';
import { startServer, type StartedServer } from '../../support/server-process.js';

describe('src/client against a real server', () => {
  let server: StartedServer;
  let root: Client;

  beforeAll(async () => {
    server = await startServer();
    root = createClient({ address: server.url, token: server.rootToken, timeoutMs: 10_000 });
    await root.write('sys/mounts/kv1', { type: 'kv', options: { version: '1' } });
  });
  afterAll(async () => {
    root?.close();
    await server?.stop();
  });

  it('detects each mount’s KV version and reads back what it wrote through that version’s paths', async () => {
    for (const [path, expected] of [
      ['secret/app/db', 2],
      ['kv1/app/db', 1],
    ] as const) {
      const info = await describeMount(root, path);
      expect(info, path).toMatchObject({ type: 'kv', version: expected });
      const m = kvMount(info.path, info.version!);
      await root.write(kvValuePath(m, 'app/db'), kvWriteBody(m.version, { password: `pw-${expected}` }));
      const body = await root.read(kvValuePath(m, 'app/db'));
      expect(kvValueOf(m.version, body), path).toEqual({ password: `pw-${expected}` });
      expect(kvVersionOf(body), path).toBe(expected === 2 ? 1 : undefined);
      expect(await root.list(kvListPath(m, 'app/')), path).toEqual(['db']);
      expect(await root.list(kvListPath(m, 'empty/')), path).toEqual([]);
      expect((await root.request('LIST', kvListPath(m, 'app/'))).body.data.keys, path).toEqual(['db']);
    }
  });

  it('answers a missing secret with NotFoundError and a denied path with a forbidden ApiError', async () => {
    await expect(root.read('secret/data/nothing/here')).rejects.toBeInstanceOf(NotFoundError);
    await expect(describeMount(root, 'nomount/x')).rejects.toBeInstanceOf(ApiError);
    const nobody = createClient({ address: server.url, token: 'not-a-token' });
    const err = await nobody.read('secret/data/app/db').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 403, method: 'GET', path: 'secret/data/app/db' });
    expect((err as Error).message).not.toContain('not-a-token');
    nobody.close();
  });

  it('a sealed store is a typed, sealed error', async () => {
    await root.write('sys/seal');
    const err = await root.read('secret/data/app/db').catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503 });
    expect(isStrongroomError(err, 'sealed')).toBe(true);
  });
});
