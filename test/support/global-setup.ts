import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Integration tests run the real binary (./bin/strongroom → dist/). Compile once per test run so they never
// exercise stale code. Incremental: a no-op build takes a few seconds. Type errors do not stop the emit (and
// `npm run typecheck` reports them in CI), so a half-finished file elsewhere never blocks unrelated tests.
export default function setup(): void {
  if (process.env.STRONGROOM_SKIP_BUILD === '1') return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(
      `note: build reported type errors (run npm run typecheck):\n${result.stdout.slice(0, 4000)}\n`,
    );
  }
  // The CLI bundle bin/strongroom prefers (bin/bundle-cli.mjs): without it the binary would run the unbundled
  // modules, and the tests would not exercise what users run.
  const bundle = spawnSync(process.execPath, [join(root, 'bin', 'bundle-cli.mjs')], { cwd: root, encoding: 'utf8' });
  if (bundle.status !== 0) throw new Error(`the CLI bundle did not build:\n${bundle.stdout}\n${bundle.stderr}`);
  // The web console (dist/ui), which the server serves and the browser tests drive. A failed build fails the run:
  // unlike tsc, Vite emits nothing when it cannot build.
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const ui = spawnSync(process.execPath, [vite, 'build', '--config', 'ui/vite.config.ts'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (ui.status !== 0) throw new Error(`the web console did not build:\n${ui.stdout}\n${ui.stderr}`);
}
