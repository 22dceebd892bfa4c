#!/usr/bin/env node
// Bundles the CLI's own code (dist/src/cli) with commander and picocolors into a few files under dist/cli/, which
// bin/strongroom runs when they are at least as new as the last tsc emit. Why: Node 20's ES module loader costs
// about a millisecond per file (resolve, an async read, a parse), and `strongroom kv get` otherwise loads ~35 files,
// commander's CommonJS among them; start-up is the CLI's target (issue 20). Code splitting keeps each command group
// in its own chunk, so a command still loads only its group (src/cli/command-groups.ts).
//
// Everything outside src/cli stays the compiled module it is (rewritten to a relative import of dist/src/...):
// the server, operator and plugins started from the CLI run exactly the code they run anywhere else, and a class
// such as ApiError exists once, so `instanceof` holds across the boundary. Other packages stay imports too.
// Run by `npm run build` after tsc. Without esbuild (it comes with vite) nothing is bundled and bin/strongroom runs
// dist/src/cli/main.js as before.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = join(root, 'dist', 'src', 'cli');
const outdir = join(root, 'dist', 'cli');
const BUNDLED_PACKAGES = new Set(['commander', 'picocolors']);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.warn('bundle-cli: esbuild is not installed; bin/strongroom will run dist/src/cli/main.js unbundled');
  process.exit(0);
}

/** Keeps imports that leave src/cli (or name another package) as imports, with paths that work from dist/cli/. */
const keepOutside = {
  name: 'keep-outside-cli',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      if (!args.path.startsWith('.')) {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return BUNDLED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
      }
      const target = resolve(args.resolveDir, args.path);
      if (dirname(target) === cliDir) return undefined;
      if (args.resolveDir.startsWith(join(root, 'node_modules')) || args.resolveDir.includes('/node_modules/'))
        return undefined;
      let path = relative(outdir, target);
      if (!path.startsWith('.')) path = `./${path}`;
      return { path, external: true };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [join(cliDir, 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // commander is CommonJS and calls require('node:events'); ESM output needs a require to hand it.
  banner: {
    js: "import { createRequire as __cliRequire } from 'node:module';\nconst require = __cliRequire(import.meta.url);",
  },
  plugins: [keepOutside],
  logLevel: 'warning',
  legalComments: 'none',
});
// Written last: bin/strongroom compares this file's time with tsc's, so a bundle that failed half-way is not used.
writeFileSync(join(outdir, 'built'), `${new Date().toISOString()}\n`);
