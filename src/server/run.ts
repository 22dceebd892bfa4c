import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';
import { KEY_FILE_UNSEAL_HELP } from '../crypto/keyfile.js';
import { createMetrics } from '../http/metrics.js';
import type { ServerConfig } from './config.js';
import { bootstrapDev, unsealAtStart } from './dev.js';
import { buildServerApp, reloadTlsLogged } from './http-server.js';
import { createRequestThreadPool, type RequestThreadPool } from './request-threads.js';
import { openStore, type Store, type StoreThreading } from './store.js';
import {
  createSharedThreadState,
  createThreadCoherence,
  shareOfLoginRateLimit,
  type ThreadCoherence,
} from './thread-coherence.js';

/** How long in-flight requests may take to finish after SIGTERM before the process exits anyway. */
const DRAIN_TIMEOUT_MS = 10_000;

export interface RunningServer {
  url: string;
  rootToken: string | null;
  app: FastifyInstance;
  store: Store;
  /** Log rotation: every audit file device reopens its path (a moved-away file is followed by a new one). */
  reopenAuditLog(): Promise<void>;
  /** SIGHUP: the TLS certificate and key are read again by every request thread (no-op without TLS). */
  reloadTls(): void;
  stop(): Promise<void>;
}

/** Opens the store, brings it up (dev: initialize/unseal), serves the API. */
export async function startServer(
  config: ServerConfig,
  out: { log: (line: string) => void; warn: (line: string) => void },
): Promise<RunningServer> {
  // The HTTP stack (Fastify, its schema compiler, every route) is needed only once the store is up. Loading it starts
  // here and goes on while the store opens: the start waits on the audit thread's own start (another core) anyway.
  const httpStack = import('../http/app.js');
  httpStack.catch(() => undefined); // awaited below; a failure is reported there, not as an unhandled rejection
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const metrics = createMetrics();
  // Several request threads (SQLite only, config.ts checks): the main thread is one of them and owns the rest.
  const threaded = config.requestThreads > 1;
  let coherence: ThreadCoherence | null = null;
  let pool: RequestThreadPool | null = null;
  let threading: StoreThreading | undefined;
  if (threaded) {
    const shared = createSharedThreadState();
    const threadCoherence = createThreadCoherence(shared);
    const threadPool = createRequestThreadPool({
      config,
      shared,
      coherence: threadCoherence,
      store: () => store,
      warn: out.warn,
    });
    coherence = threadCoherence;
    pool = threadPool;
    threading = {
      sharedChanges: threadCoherence.sharedChanges,
      wrapLifecycle: (inner) =>
        threadCoherence.wrapLifecycle(inner, {
          sealing: () => threadPool.broadcastSeal(),
          unsealed: () => threadPool.distributeUnseal(),
        }),
      loginRateLimit: shareOfLoginRateLimit(config.requestThreads),
    };
  }
  const store: Store = await openStore(config, { metrics, warn: out.warn, ...(threading ? { threading } : {}) });
  coherence?.bind(store);
  let rootToken: string | null = null;
  let stopUnsealing: () => void = () => undefined;
  try {
    if (config.dev) rootToken = await bootstrapDev(store, config, out.warn);
    else stopUnsealing = await unsealAtStart(store, config, out.warn, () => metrics.setSealed(false));
    metrics.setSealed(store.seal.barrier.isSealed());
    // Initialization and the dev root token are acknowledged (printed, served) from here on: durable first.
    await store.storage.flushCommits();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }

  const { app, tls, reloadTls } = await buildServerApp(store, config, coherence, (await httpStack).buildApp);
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    stopUnsealing();
    await app.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
  try {
    // The main thread's listening descriptor, shared by every request thread (see request-threads.ts).
    if (pool) await pool.start((app.server as unknown as { _handle: { fd: number } })._handle.fd);
  } catch (err) {
    stopUnsealing();
    await pool?.stop().catch(() => undefined);
    await app.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
  store.startMaintenance(app.log);
  const stopWatchingTls = config.tls
    ? watchTlsFiles(config.tls, () => {
        reloadTlsLogged(reloadTls, app.log, 'files changed');
        pool?.broadcastTlsReload('files changed');
      })
    : () => undefined;
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`;

  if (pool) out.log(`Serving with ${config.requestThreads} request threads`);
  let stopping: Promise<void> | null = null;
  return {
    url,
    rootToken,
    app,
    store,
    reloadTls() {
      if (!tls) return;
      reloadTlsLogged(reloadTls, app.log, 'SIGHUP');
      pool?.broadcastTlsReload('SIGHUP');
    },
    async reopenAuditLog() {
      const audit = store.audit();
      // Sealed since start: no audit device is open yet; the first unseal opens the files at their current paths.
      if (!audit) {
        app.log.info('SIGHUP: no audit device is open (store not unsealed yet); nothing to reopen');
        return;
      }
      try {
        await audit.reopen();
        app.log.info(
          { devices: (await audit.list()).filter((d) => d.type === 'file').map((d) => d.path) },
          'SIGHUP: audit log reopened',
        );
      } catch (err) {
        // The device retries on its next batch and fails those requests if it still cannot write (fail closed).
        app.log.error(
          { error: err instanceof Error ? err.message : String(err) },
          'SIGHUP: reopening the audit log failed',
        );
      }
    },
    stop() {
      stopping ??= (async () => {
        stopWatchingTls();
        stopUnsealing();
        // Stop accepting, let in-flight requests finish (bounded), then flush the audit log and close storage. The
        // other request threads drain alongside; their audit ports close before the audit thread does.
        const threadsStopped = pool?.stop() ?? Promise.resolve();
        const drained = Promise.all([app.close(), threadsStopped]);
        const timer = new Promise<void>((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS).unref());
        await Promise.race([drained, timer]);
        await store.close();
      })();
      return stopping;
    },
  };
}

/** `strongroom server`: runs until SIGTERM/SIGINT, then shuts down cleanly and exits 0. */
export async function runServer(config: ServerConfig): Promise<void> {
  const out = {
    log: (line: string) => process.stdout.write(`${line}\n`),
    warn: (line: string) => process.stderr.write(`${line}\n`),
  };
  const server = await startServer(config, out);
  if (config.dev) {
    out.log(`Strongroom dev server listening on ${server.url}`);
    out.log(`Root token: ${server.rootToken ?? '(unchanged)'}`);
    out.log(`Data directory: ${config.dataDir}`);
    if (config.ui) out.log(`Web console: ${server.url}/ui/`);
    out.log('');
    out.log(`    export STRONGROOM_ADDR=${server.url}`);
    out.log(`    export VAULT_ADDR=${server.url}`);
  } else {
    out.log(`Strongroom server listening on ${server.url}`);
    if (config.ui) out.log(`Web console: ${server.url}/ui/`);
    const status = await server.store.seal.status();
    if (!status.initialized) out.log('Not initialized: run `strongroom operator init` (or PUT /v1/sys/init).');
    else if (status.sealed && status.type === 'keyfile') out.log(`Sealed: ${KEY_FILE_UNSEAL_HELP}.`);
    else if (status.sealed && status.type === 'transit' && !status.migration)
      out.log('Sealed: waiting for the transit seal’s unsealer (retrying; see the log).');
    else if (status.sealed) out.log('Sealed: submit unseal keys to /v1/sys/unseal (`strongroom operator unseal`).');
  }

  // SIGHUP is log rotation (logrotate's postrotate), as for most daemons — never a reason to exit.
  // It also reloads the TLS certificate, as Vault's SIGHUP does (cert-manager renews it in place).
  const onHangup = () => {
    server.reloadTls();
    void server.reopenAuditLog();
  };
  process.on('SIGHUP', onHangup);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      out.warn(`received ${signal}; shutting down`);
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  process.off('SIGHUP', onHangup);
  await server.stop();
  process.exitCode = 0;
}

/**
 * Kubernetes rewrites a mounted Secret's files when cert-manager renews the certificate, and nobody sends SIGHUP: the
 * files are checked every `reloadIntervalSeconds` (a stat of each, nothing read unless they changed) and reloaded when
 * they differ. Both files must have settled (unchanged over one interval) so a half-written pair is not tried.
 */
function watchTlsFiles(
  tls: { certFile: string; keyFile: string; reloadIntervalSeconds: number },
  reload: () => void,
): () => void {
  if (tls.reloadIntervalSeconds <= 0) return () => undefined;
  const signature = () => {
    try {
      return [tls.certFile, tls.keyFile]
        .map((file) => statSync(file))
        .map((st) => `${st.ino}:${st.size}:${st.mtimeMs}`)
        .join('|');
    } catch {
      return null; // missing for a moment while being replaced: decided on a later check
    }
  };
  let loaded = signature();
  let seen = loaded;
  const timer = setInterval(() => {
    const now = signature();
    if (now !== null && now === seen && now !== loaded) {
      loaded = now;
      reload();
    }
    seen = now;
  }, tls.reloadIntervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
