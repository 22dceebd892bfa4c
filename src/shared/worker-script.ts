import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrongroomError } from './errors.js';

/**
 * The compiled JavaScript of a worker thread's script that sits beside the calling module (`moduleUrl`:
 * `import.meta.url`). Under the test runner the caller is TypeScript and the worker must still be JavaScript: the
 * build in dist/ (which the test setup makes) provides it.
 */
export function compiledWorkerScript(moduleUrl: string, script: string, what: string): string {
  const here = fileURLToPath(moduleUrl);
  const beside = join(dirname(here), script);
  if (existsSync(beside)) return beside;
  const built = join(dirname(here), '..', '..', 'dist', 'src', basename(dirname(here)), script);
  if (existsSync(built)) return built;
  throw new StrongroomError('internal', `the ${what} script is missing; run \`npm run build\``);
}
