import * as grpc from '@grpc/grpc-js';
import { isStrongroomError } from '../shared/errors.js';
import { CircuitOpenError } from './breaker.js';
import { listenUnix, loadPackage, stopServer } from './grpc-unix.js';
import type { KmsPlugin } from './plugin.js';

/** gRPC transport for the KMS plugin: translates, never decides (the logic is in plugin.ts). */
export function grpcStatusFor(err: unknown): { code: grpc.status; details: string } {
  if (err instanceof CircuitOpenError) return { code: grpc.status.UNAVAILABLE, details: err.message };
  if (isStrongroomError(err)) {
    const code =
      err.kind === 'invalid' || err.kind === 'conflict'
        ? grpc.status.INVALID_ARGUMENT
        : err.kind === 'forbidden'
          ? grpc.status.PERMISSION_DENIED
          : err.kind === 'unauthenticated'
            ? grpc.status.UNAUTHENTICATED
            : err.kind === 'not_found'
              ? grpc.status.NOT_FOUND
              : err.kind === 'sealed' || err.kind === 'unavailable'
                ? grpc.status.UNAVAILABLE
                : err.kind === 'rate_limited'
                  ? grpc.status.RESOURCE_EXHAUSTED
                  : grpc.status.INTERNAL;
    return { code, details: err.message };
  }
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : 'internal error' };
}

type Callback<T> = (error: grpc.ServiceError | null, value?: T) => void;

function reply<T>(promise: Promise<T>, callback: Callback<T>): void {
  promise.then(
    (value) => callback(null, value),
    (err) => {
      const { code, details } = grpcStatusFor(err);
      callback({ code, details, name: 'Error', message: details, metadata: new grpc.Metadata() });
    },
  );
}

export interface RunningServer {
  stop(): Promise<void>;
}

export async function serveKmsPlugin(plugin: KmsPlugin, socketPath: string): Promise<RunningServer> {
  const pkg = loadPackage('kms/v2/api.proto') as unknown as {
    v2: { KeyManagementService: grpc.ServiceClientConstructor };
  };
  const server = new grpc.Server();
  server.addService(pkg.v2.KeyManagementService.service, {
    Status: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback<unknown>) =>
      reply(plugin.status(), callback),
    Encrypt: (call: grpc.ServerUnaryCall<{ plaintext: Buffer; uid: string }, unknown>, callback: Callback<unknown>) =>
      reply(plugin.encrypt(call.request.plaintext), callback),
    Decrypt: (
      call: grpc.ServerUnaryCall<
        { ciphertext: Buffer; uid: string; key_id: string; annotations: Record<string, Buffer> },
        unknown
      >,
      callback: Callback<unknown>,
    ) =>
      reply(
        plugin
          .decrypt({
            ciphertext: call.request.ciphertext,
            key_id: call.request.key_id,
            annotations: call.request.annotations ?? {},
          })
          .then((plaintext) => ({ plaintext })),
        callback,
      ),
  });
  await listenUnix(server, socketPath);
  return { stop: () => stopServer(server, socketPath) };
}
