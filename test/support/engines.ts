import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { type Engine, type Storage, type StorageConfig } from '../../src/storage/database.js';
import { openStorage } from '../../src/server/open-storage.js';
import { createTestDatabase, postgresSkipReason } from './postgres.js';

export interface EngineContext {
  engine: Engine;
  /** The storage opened for this suite (valid inside tests and beforeEach). */
  storage(): Storage;
  /** Config of the suite's database, to open a second handle (another "replica" or a child process). */
  config(): StorageConfig;
}

/**
 * Runs one suite body against SQLite and against PostgreSQL, each on a fresh, migrated database.
 * This is how "every storage test runs on both engines" is kept true.
 */
export function describeEachEngine(name: string, body: (ctx: EngineContext) => void): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    const skip = engine === 'postgres' && postgresSkipReason !== undefined;
    describe.skipIf(skip)(`${name} [${engine}]`, () => {
      let storage: Storage | undefined;
      let config: StorageConfig | undefined;
      let cleanup: () => Promise<void> = async () => undefined;
      beforeAll(async () => {
        if (engine === 'sqlite') {
          const dir = mkdtempSync(join(tmpdir(), 'strongroom-test-'));
          config = { engine, file: join(dir, 'strongroom.db') };
          cleanup = async () => rmSync(dir, { recursive: true, force: true });
        } else {
          const db = await createTestDatabase();
          config = { engine, url: db.url, poolSize: 5 };
          cleanup = db.drop;
        }
        storage = await openStorage(config);
      });
      afterAll(async () => {
        await storage?.close();
        await cleanup();
      });
      body({
        engine,
        storage: () => {
          if (!storage) throw new Error('storage not open yet');
          return storage;
        },
        config: () => {
          if (!config) throw new Error('storage not open yet');
          return config;
        },
      });
    });
  }
}
