import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../client/index.js';
import { createTokenSource } from './token.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const dir = mkdtempSync(join(tmpdir(), 'publish-token-'));

describe('publish token source', () => {
  it('re-reads a token file on every use, so a rotated token is picked up', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'first\n');
    const source = createTokenSource({ kind: 'token-file', file }, { write: async () => undefined });
    expect(await source.token()).toBe('first');
    writeFileSync(file, 'second');
    expect(await source.token()).toBe('second');
    writeFileSync(file, '\n');
    await expect(source.token()).rejects.toThrow(/is empty/);
  });

  it('logs in with the service-account token, keeps the result for 80 % of its lease, and again after forget()', async () => {
    const jwtFile = join(dir, 'jwt');
    writeFileSync(jwtFile, 'header.payload.signature\n');
    const calls: Loose[] = [];
    let now = 0;
    const client = {
      async write(path: string, body: Loose, options: Loose) {
        calls.push({ path, body, options });
        return { auth: { client_token: `t${calls.length}`, lease_duration: 100 } };
      },
    };
    const source = createTokenSource(
      { kind: 'kubernetes', role: 'operator', mount: 'k8s', jwtFile },
      client,
      () => now,
    );
    expect(await source.token()).toBe('t1');
    expect(calls[0]).toEqual({
      path: 'auth/k8s/login',
      body: { role: 'operator', jwt: 'header.payload.signature' },
      options: { token: '' },
    });
    now = 79_000;
    expect(await source.token()).toBe('t1');
    now = 80_001;
    expect(await source.token()).toBe('t2');
    source.forget();
    expect(await source.token()).toBe('t3');
  });

  it('a refused login says where and why, never with the JWT', async () => {
    const jwtFile = join(dir, 'jwt2');
    writeFileSync(jwtFile, 'secret.jwt.value');
    const source = createTokenSource(
      { kind: 'kubernetes', role: 'operator', mount: 'kubernetes', jwtFile },
      {
        write: async () => {
          throw new ApiError(403, ['permission denied'], 'POST', 'auth/kubernetes/login', undefined);
        },
      },
    );
    const err = await source.token().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toBe('login at auth/kubernetes as role operator failed: permission denied');
    expect(err?.message).not.toContain('secret.jwt.value');
  });
});
