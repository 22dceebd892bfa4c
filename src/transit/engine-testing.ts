import { beforeEach } from 'vitest';
import type { EngineContext } from '../../test/support/engines.js';
import type { Mount } from '../mounts/types.js';
import { createTransitRepository } from './repository.js';
import { createTransitService } from './service.js';
import { mount, testBarrier } from './test-support.js';
import type { TransitService } from './types.js';

/** What each transit engine test starts with: fresh after every test (set by the beforeEach hook). */
export interface TransitEngineFixture {
  barrier: ReturnType<typeof testBarrier>;
  transit: TransitService;
  m: Mount;
  /** The service's clock (ms): tests move it forward. */
  clock: number;
}

/**
 * Shared setup of the transit engine tests (engine*.test.ts). Call inside a describeEachEngine body: before every
 * test the transit tables are emptied and a new service, barrier, mount and clock are made.
 */
export function useTransitEngine(ctx: EngineContext): TransitEngineFixture {
  const t = {} as TransitEngineFixture;
  beforeEach(async () => {
    await ctx.storage().db.deleteFrom('transit_key_versions').execute();
    await ctx.storage().db.deleteFrom('transit_keys').execute();
    t.barrier = testBarrier();
    t.clock = Date.UTC(2026, 0, 1);
    t.transit = createTransitService({
      repository: createTransitRepository(ctx.storage()),
      barrier: t.barrier,
      now: () => t.clock,
    });
    t.m = mount();
  });
  return t;
}
