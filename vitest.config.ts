import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration tests spawn ./bin/strongroom, which runs the compiled dist/: build it once first.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default for `vitest run` is one worker fewer than the cores: a single worker on a 2-core CI machine,
    // which then sits idle while a file waits on its server, operator or database. Most files here wait on real
    // processes more than they compute, so one worker more than the cores keeps both cores busy.
    maxWorkers: Math.max(3, availableParallelism()),
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/fault/**'],
          // A file is still a fresh module (its own top-level state), but the modules it imports (Fastify, Kysely, the
          // Kubernetes client, the whole src/ graph) stay loaded in the worker for the next file instead of being
          // imported again: that import was most of the suite's CPU time. The tests hold no process-wide state (no
          // module mocks, stubbed globals or env changes; fake timers are restored by the file that uses them). A test
          // that does stub a global or an env variable with vi.stubGlobal/vi.stubEnv gets it undone after the test.
          isolate: false,
          unstubGlobals: true,
          unstubEnvs: true,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The fault suite measures the server under floods, kills and outages (health latency, RSS, recovery
        // time). It runs after everything else, one file at a time, so the rest of the suite is not the load it
        // measures.
        extends: true,
        test: {
          name: 'fault',
          include: ['test/fault/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
