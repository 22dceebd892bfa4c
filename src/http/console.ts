/**
 * Serves the web console (ui/, built by Vite into dist/ui) at /ui. The files are read once at start into memory, so
 * a request never touches the disk and no request path can name a file outside the build: only the names found at
 * start exist. The gzip copy of a compressible file is made the first time a browser asks for it and kept: most
 * servers (the operator's, a CI run's) never serve the console, and compressing every asset at level 9 made each
 * start pay for it. Every page answer carries a strict
 * Content-Security-Policy (no inline script or style, no framing, connections only to this origin).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build:ui` puts the console, relative to this file once compiled (dist/src/http → dist/ui). */
export function defaultConsoleDir(): string {
  return fileURLToPath(new URL('../../ui', import.meta.url));
}

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // data: for the TOTP enrolment QR code the server returns as a PNG.
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Headers on every console answer (pages and assets). */
export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

interface Asset {
  body: Buffer;
  /** Worth compressing (a text type, over 512 bytes). */
  compressible: boolean;
  /** The gzip copy, once a first request has made it (shared by the requests that arrive meanwhile). */
  gzip?: Promise<Buffer>;
  type: string;
  etag: string;
  /** Vite names assets by content hash: they never change, so browsers may keep them. */
  immutable: boolean;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const file = join(folder, name);
      if (statSync(file).isDirectory()) {
        walk(file);
        continue;
      }
      const ext = extname(name).toLowerCase();
      const type = TYPES[ext];
      if (!type) continue;
      const body = readFileSync(file);
      const urlPath = relative(dir, file).split(sep).join('/');
      const asset: Asset = {
        body,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        immutable: urlPath.startsWith('assets/'),
        compressible: COMPRESSIBLE.has(ext) && body.length > 512,
      };
      assets.set(urlPath, asset);
    }
  };
  walk(dir);
  return assets;
}

/** Compressed off the event loop (zlib's thread pool), once per asset; a failure is not kept, so a later request retries. */
function gzipped(asset: Asset): Promise<Buffer> {
  asset.gzip ??= new Promise<Buffer>((resolve, reject) =>
    gzip(asset.body, { level: 9 }, (err, out) => (err ? reject(err) : resolve(out))),
  ).catch((err: unknown) => {
    asset.gzip = undefined;
    throw err;
  });
  return asset.gzip;
}

const NOT_BUILT =
  '<!doctype html><meta charset="utf-8"><title>Strongroom</title><p>The web console is not built. Run <code>npm run build:ui</code> (or <code>npm install</code>) and restart the server.</p>';

/**
 * Registers GET/HEAD /ui and /ui/*. Unknown paths under /ui that look like pages get index.html (the console
 * routes in the browser); unknown asset names get 404.
 */
export function registerConsole(app: FastifyInstance, dir: string): void {
  const assets = existsSync(join(dir, 'index.html')) ? loadAssets(dir) : new Map<string, Asset>();
  const index = assets.get('index.html');

  const send = (request: FastifyRequest, reply: FastifyReply, asset: Asset) => {
    reply.headers(CONSOLE_HEADERS);
    reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('etag', asset.etag);
    reply.header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    reply.type(asset.type);
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (asset.compressible && acceptsGzip) {
      reply.header('content-encoding', 'gzip');
      return gzipped(asset).then((body) => reply.send(body));
    }
    return reply.send(asset.body);
  };

  app.route({
    method: ['GET', 'HEAD'],
    url: '/ui',
    handler: (_request, reply) => reply.redirect('/ui/', 301),
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/ui/*',
    handler: (request, reply) => {
      const rest = (request.params as Record<string, string>)['*'] ?? '';
      const asset = assets.get(rest);
      if (asset) return send(request, reply, asset);
      // A missing file with an extension (a stale asset name) is a 404, not the page: a browser must not run HTML
      // as a script. Everything else is a console page.
      if (/\.[A-Za-z0-9]+$/.test(rest) && !rest.endsWith('.html')) {
        return reply.code(404).headers(CONSOLE_HEADERS).type('text/plain; charset=utf-8').send('not found\n');
      }
      if (!index) {
        return reply
          .code(503)
          .headers(CONSOLE_HEADERS)
          .header('cache-control', 'no-store')
          .type('text/html; charset=utf-8')
          .send(NOT_BUILT);
      }
      return send(request, reply, index);
    },
  });
  // The root of the server is where people type the address: send them to the console.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    handler: (_request, reply) => reply.redirect('/ui/', 307),
  });
}
