import { readFileSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';

import type { FastifyInstance } from 'fastify';
import type { buildApp } from '../http/app.js';
import { defaultConsoleDir } from '../http/console.js';
import { createAdmission } from '../http/admission.js';
import { createListAwareServer, listRecoveryAvailable, observeBody } from '../http/list-method.js';
import type { ServerConfig } from './config.js';
import type { Store } from './store.js';
import type { ThreadCoherence } from './thread-coherence.js';

/**
 * The HTTP side of one request thread: admission, TLS and the LIST-aware server are per thread (nothing of them can
 * cross threads). `coherence` (several request threads) runs before each request reaches Fastify: a seal or a write
 * by another thread takes effect here before this request is looked at.
 */
export async function buildServerApp(
  store: Store,
  config: ServerConfig,
  coherence: ThreadCoherence | null,
  // Passed in: the caller loads the HTTP stack while the store opens (run.ts), not when this module loads.
  build: typeof buildApp,
): Promise<{ app: FastifyInstance; tls: boolean; reloadTls: () => void }> {
  const threads = coherence ? config.requestThreads : 1;
  // Admission bounds protect the process's memory: each thread takes its share (the largest body must still fit).
  const admission = createAdmission(
    {
      maxInflightBytes: Math.max(config.maxRequestBytes, Math.floor(config.maxInflightRequestBytes / threads)),
      maxConcurrentRequests: Math.ceil(config.maxConcurrentRequests / threads),
      maxBodyBytes: config.maxRequestBytes,
    },
    observeBody,
  );
  store.httpDeps.metrics.setAdmissionStats(admission.stats);
  const tls = config.tls ? readTlsFiles(config.tls) : undefined;
  const app = await build(store.httpDeps, {
    // With several request threads each log line names its thread (Node's threadId: 0 is the main thread).
    logger: coherence
      ? { level: config.logLevel, base: { pid: process.pid, hostname: hostname(), thread: threadId } }
      : { level: config.logLevel },
    bodyLimit: config.maxRequestBytes,
    maxJsonDepth: config.maxJsonDepth,
    console: config.ui ? defaultConsoleDir() : false,
    serverFactory: (handler) =>
      createListAwareServer({ ...(tls ? { tls } : {}), admission }, coherence ? coherent(handler, coherence) : handler),
  });
  if (!listRecoveryAvailable && threadId === 0)
    app.log.warn(
      `the HTTP method LIST is refused on Node ${process.versions.node} (its parser internals are tested on Node 20 only); GET with ?list=true lists`,
    );
  const reloadTls = () => {
    if (!config.tls) return;
    const next = readTlsFiles(config.tls);
    // Checked before use: a half-renewed pair (new certificate, old key) throws here and the old pair stays.
    createSecureContext(next);
    (app.server as unknown as TlsServer).setSecureContext(next);
  };
  return { app, tls: tls !== undefined, reloadTls };
}

function readTlsFiles(files: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

/**
 * The certificate and key read again (on SIGHUP, as Vault reloads its listener's certificate, or when the files
 * changed: cert-manager renews them in place). New connections get the new pair; open ones keep theirs. A pair that does not load (missing
 * file, key not matching the certificate) is refused and the old one kept: the reason is logged, never key material.
 */
export function reloadTlsLogged(
  reload: () => void,
  log: FastifyInstance['log'],
  cause: 'SIGHUP' | 'files changed',
): void {
  try {
    reload();
    log.info({ cause }, 'TLS certificate reloaded');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    log.error(
      { cause, error: code ?? (err instanceof Error ? err.message : String(err)) },
      'TLS certificate not reloaded; the previous one stays',
    );
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Vault's error shape: the request is refused rather than served from state that may be stale (fail closed). */
const NOT_IN_STEP = JSON.stringify({ errors: ['this server could not catch up with a change made by another thread'] });

function coherent(handler: Handler, coherence: ThreadCoherence): Handler {
  return (req, res) => {
    const catchingUp = coherence.beforeRequest();
    if (!catchingUp) return handler(req, res);
    catchingUp.then(
      () => handler(req, res),
      () => {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(NOT_IN_STEP);
      },
    );
  };
}
