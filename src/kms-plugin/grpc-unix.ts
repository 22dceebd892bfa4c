import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync, lstatSync, chmodSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the KMS plugin and the CSI provider share: loading our .proto files and serving gRPC on a unix socket that
 * only the owner can open (kube-apiserver and the CSI driver run as root on the node; nobody else should talk to
 * a key-encryption service).
 */

/** The repo's proto/ folder, found by walking up from this file (works from src/ under vitest and from dist/src/). */
export function protoFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto', relative);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`proto file ${relative} not found next to the installation`);
}

export function loadPackage(relative: string): grpc.GrpcObject {
  const definition = protoLoader.loadSync(protoFile(relative), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition);
}

/** Resolves true when something accepts connections on the socket path. */
function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Removes a stale socket left by a crashed run; refuses when another process is serving on it, or when the path is
 * something other than a socket (we never delete a user's file).
 */
export async function prepareSocketPath(path: string): Promise<void> {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a unix socket; refusing to replace it`);
  if (await isListening(path)) throw new Error(`another process is already listening on ${path}`);
  unlinkSync(path);
}

/** Binds the server on `path` with mode 0600 from the first instant (umask), then pins the mode explicitly. */
export async function listenUnix(server: grpc.Server, path: string): Promise<void> {
  await prepareSocketPath(path);
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix:${path}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      );
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o600);
}

/** Stops accepting calls, lets in-flight calls finish for up to `graceMs`, then forces; removes the socket. */
export async function stopServer(server: grpc.Server, path: string, graceMs = 5000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Runs `stop` once on SIGTERM/SIGINT, then exits. */
export function onTermination(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`received ${signal}, shutting down`);
    stop()
      .catch((err) => console.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
