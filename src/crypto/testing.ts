import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Storage } from '../storage/database.js';
import { createSealService, type ManagedSealService } from './service.js';
import type { SealService } from './types.js';

/**
 * For other domains' tests: a real, unsealed barrier over `storage` in one line. The first call for a database
 * initializes it with a key file in a fresh temp dir; later calls for the same database (even through another
 * Storage handle, as a second "replica" would have) unseal with that same file.
 */
const keyFilesByDatabase = new Map<string, string>();

async function databaseIdentity(storage: Storage): Promise<string> {
  if (storage.engine === 'sqlite') {
    const result = await sql<{ name: string; file: string }>`pragma database_list`.execute(storage.db);
    return `sqlite:${result.rows.find((row) => row.name === 'main')?.file ?? ''}`;
  }
  const result = await sql<{
    db: string;
    port: number | null;
  }>`select current_database() as db, inet_server_port() as port`.execute(storage.db);
  return `postgres:${result.rows[0]?.port ?? ''}:${result.rows[0]?.db ?? ''}`;
}

export async function unsealedSealService(storage: Storage): Promise<SealService> {
  return unsealedManagedSealService(storage);
}

/** Same as unsealedSealService, typed with the refresh/whenIdle/close extras. */
export async function unsealedManagedSealService(storage: Storage): Promise<ManagedSealService> {
  const service = createSealService({ storage, warn: () => undefined });
  const identity = await databaseIdentity(storage);
  const status = await service.status();
  if (!status.initialized) {
    const path = join(mkdtempSync(join(tmpdir(), 'strongroom-keyfile-')), 'unseal.key');
    await service.initKeyFile(path);
    keyFilesByDatabase.set(identity, path);
    return service;
  }
  const path = keyFilesByDatabase.get(identity);
  if (!path) {
    throw new Error('this test database was initialized by something other than unsealedSealService; cannot unseal it');
  }
  await service.unsealWithKeyFile(path);
  return service;
}
