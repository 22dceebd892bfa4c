import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration tests spawn ./bin/strongroom, which runs the compiled dist/: build it once first.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/fault/**'],
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
