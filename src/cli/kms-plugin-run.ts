import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CircuitBreaker } from '../kms-plugin/breaker.js';
import { onTermination } from '../kms-plugin/grpc-unix.js';
import { createClient } from '../client/index.js';
import { createHttpKek, type Kek } from '../kms-plugin/kek.js';
import { openLocalKek } from '../kms-plugin/local-kek.js';
import { createKmsPlugin } from '../kms-plugin/plugin.js';
import { serveKmsPlugin } from '../kms-plugin/server.js';
import { DEV_KEY_FILE } from '../server/dev.js';
import { readCaCert } from './connection.js';

export interface KmsPluginFlags {
  socket: string;
  key: string;
  address?: string;
  dataDir?: string;
  keyFile?: string;
  auditFile?: string;
  tokenFile?: string;
  caCert?: string;
  mount: string;
  timeout: string;
}

/** The plugin's token: re-read from the file on every call so a rotated (e.g. projected) token is picked up. */
function tokenSource(flags: KmsPluginFlags): () => Promise<string> {
  if (flags.tokenFile) {
    const file = resolve(flags.tokenFile);
    return async () => {
      const token = (await readFile(file, 'utf8')).trim();
      if (!token) throw new Error(`token file ${file} is empty`);
      return token;
    };
  }
  const token = process.env.STRONGROOM_TOKEN?.trim();
  if (!token) throw new Error('no token: set STRONGROOM_TOKEN or pass --token-file');
  return async () => token;
}

export async function runKmsPlugin(flags: KmsPluginFlags): Promise<void> {
  const socketPath = resolve(flags.socket);
  const timeoutMs = Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 2500)
    throw new Error('--timeout must be 50..2500 ms (kube-apiserver gives a KMS call 3 s)');
  const address = flags.address ?? process.env.STRONGROOM_ADDR;
  let kek: Kek;
  if (flags.dataDir) {
    if (flags.address) throw new Error('use either --address or --data-dir, not both');
    const dataDir = resolve(flags.dataDir);
    kek = await openLocalKek({
      dataDir,
      ...(flags.auditFile ? { auditFile: resolve(flags.auditFile) } : {}),
      keyFile: resolve(flags.keyFile ?? join(dataDir, DEV_KEY_FILE)),
      mountPath: flags.mount,
      keyName: flags.key,
      socketPath,
      warn: (message) => console.error(`warning: ${message}`),
    });
  } else {
    if (!address)
      throw new Error(
        'set --address (or STRONGROOM_ADDR) to reach a Strongroom server, or --data-dir for in-process mode',
      );
    // No retries here: the circuit breaker decides, and kube-apiserver retries a failed call itself.
    // The store's CA (--ca-cert): for this one connection, in place of the system's roots, as Vault's VAULT_CACERT.
    const ca = readCaCert(flags.caCert);
    const client = createClient({ address, ...(ca ? { ca } : {}), timeoutMs, userAgent: 'strongroom-kms-plugin' });
    kek = createHttpKek({ client, mountPath: flags.mount, keyName: flags.key, token: tokenSource(flags) });
  }
  const plugin = createKmsPlugin({ kek, breaker: new CircuitBreaker({ threshold: 3, cooldownMs: 2000 }) });
  let server;
  try {
    server = await serveKmsPlugin(plugin, socketPath);
  } catch (err) {
    await kek.close();
    throw err;
  }
  console.error(`strongroom kms-plugin: serving KMS v2 on unix://${socketPath} with transit key "${flags.key}"`);
  // Creates the key now when possible; if the store is down the plugin still starts and reports it in Status.
  void plugin
    .status()
    .then((s) =>
      console.error(`strongroom kms-plugin: initial status ${s.healthz === 'ok' ? `ok (${s.key_id})` : s.healthz}`),
    );
  onTermination(async () => {
    await server.stop();
    await kek.close();
  });
}
