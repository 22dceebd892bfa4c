import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Integration tests run the real binary (./bin/strongroom → dist/). Compile once per test run so they never
// exercise stale code. Incremental: a no-op build takes about a second.
export default function setup(): void {
  if (process.env.STRONGROOM_SKIP_BUILD === '1') return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
