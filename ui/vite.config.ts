import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The console is served by the server at /ui from dist/ui (src/http/console.ts). No plugin is needed: Vite's own
 * transform handles TSX with React's automatic runtime. No inline script or style may be emitted (the CSP forbids
 * them), hence no module-preload polyfill and CSS in files.
 */
export default defineConfig({
  root,
  base: '/ui/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
