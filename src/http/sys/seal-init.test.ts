import { describe, expect, it } from 'vitest';
import { ALREADY_INITIALIZED } from '../../crypto/lifecycle.js';
import { StrongroomError } from '../../shared/errors.js';
import type { RequestContext } from '../../logical/backend.js';
import type { HttpDeps } from '../deps.js';
import { sealPaths } from './seal.js';

type SealDeps = Parameters<typeof sealPaths>[0];

/** sys/init as its handler sees a store that another init (here or on another replica) got to first. */
function initHandler(initShamir: () => Promise<never>) {
  const deps = {
    seal: { status: async () => ({ initialized: false }), initShamir } as unknown as HttpDeps['seal'],
    tokens: {} as HttpDeps['tokens'],
    lifecycle: {} as HttpDeps['lifecycle'],
    metrics: { setSealed: () => undefined } as unknown as HttpDeps['metrics'],
  } as SealDeps;
  const init = sealPaths(deps).find((p) => p.pattern === 'init')!;
  return () =>
    init.operations.update!({ input: { secret_shares: 1, secret_threshold: 1 } } as unknown as RequestContext);
}

describe('sys/init', () => {
  it("answers Vault's text when it loses the race to initialize after its own check passed", async () => {
    const lost = initHandler(async () => {
      throw new StrongroomError('invalid', 'Strongroom is already initialized', { reason: ALREADY_INITIALIZED });
    });
    await expect(lost()).rejects.toMatchObject({ kind: 'invalid', message: 'Vault is already initialized' });
  });

  it('passes any other failure through unchanged', async () => {
    const failed = initHandler(async () => {
      throw new StrongroomError('unavailable', 'storage is unavailable');
    });
    await expect(failed()).rejects.toMatchObject({ kind: 'unavailable', message: 'storage is unavailable' });
  });
});
