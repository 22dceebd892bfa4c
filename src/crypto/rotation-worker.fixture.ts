/**
 * Test fixture, run as a separate process by multiprocess.test.ts: unseals a store with a key file, rotates
 * `count` times, and prints the terms it got as JSON. Arguments: <storage config JSON> <key file> <count>.
 */
import { type StorageConfig } from '../storage/database.js';
import { openStorage } from '../server/open-storage.js';
import { createSealService } from './service.js';

const [configJson, keyFile, countText] = process.argv.slice(2);
const storage = await openStorage(JSON.parse(configJson!) as StorageConfig);
const service = createSealService({ storage, warn: () => undefined, refreshIntervalMs: 0 });
try {
  await service.unsealWithKeyFile(keyFile!);
  const terms: number[] = [];
  for (let i = 0; i < Number(countText); i++) terms.push((await service.rotate()).term);
  process.stdout.write(JSON.stringify(terms));
} finally {
  await service.close();
  await storage.close();
}
