import * as grpc from '@grpc/grpc-js';
import { listenUnix, loadPackage, stopServer } from '../kms-plugin/grpc-unix.js';
import { grpcStatusFor } from '../kms-plugin/server.js';
import type { createCsiProvider } from './provider.js';

export const PROVIDER_NAME = 'strongroom';
export const PROVIDER_VERSION = '0.1.0';

interface MountRequest {
  attributes: string;
  secrets: string;
  target_path: string;
  permission: string;
  current_object_version: Array<{ id: string; version: string }>;
}

type Callback = (error: grpc.ServiceError | null, value?: unknown) => void;

/** gRPC transport for the CSI provider; errors become gRPC statuses the driver shows in the pod's events. */
export async function serveCsiProvider(
  provider: ReturnType<typeof createCsiProvider>,
  socketPath: string,
): Promise<{ stop(): Promise<void> }> {
  const pkg = loadPackage('csi/v1alpha1/service.proto') as unknown as {
    v1alpha1: { CSIDriverProvider: grpc.ServiceClientConstructor };
  };
  const server = new grpc.Server();
  server.addService(pkg.v1alpha1.CSIDriverProvider.service, {
    Version: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: Callback) =>
      callback(null, { version: 'v1alpha1', runtime_name: PROVIDER_NAME, runtime_version: PROVIDER_VERSION }),
    Mount: (call: grpc.ServerUnaryCall<MountRequest, unknown>, callback: Callback) => {
      provider
        .mount({
          attributes: call.request.attributes,
          targetPath: call.request.target_path,
          permission: call.request.permission,
          currentObjectVersion: call.request.current_object_version ?? [],
        })
        .then(
          (result) => callback(null, { object_version: result.objectVersion, files: result.files }),
          (err: unknown) => {
            const { code, details } = grpcStatusFor(err);
            callback({ code, details, name: 'Error', message: details, metadata: new grpc.Metadata() });
          },
        );
    },
  });
  await listenUnix(server, socketPath);
  return { stop: () => stopServer(server, socketPath) };
}
