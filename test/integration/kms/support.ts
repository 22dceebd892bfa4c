import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers shared by the KMS and CSI integration tests: plugin processes, gRPC clients from the .proto files, HTTP. */
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'strongroom');

export interface PluginProcess {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

export async function spawnPlugin(args: string[], env: Record<string, string>, socket: string): Promise<PluginProcess> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(socket)) {
    proc.kill('SIGKILL');
    throw new Error(`plugin did not create its socket:\n${out}`);
  }
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

export function grpcClient(
  protoRelative: string,
  service: string,
  socket: string,
): grpc.Client & Record<string, unknown> {
  const definition = protoLoader.loadSync(join(ROOT, 'proto', protoRelative), {
    keepCase: true,
    longs: Number,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition);
  const [ns, name] = service.split('.') as [string, string];
  const Ctor = (pkg[ns] as grpc.GrpcObject)[name] as grpc.ServiceClientConstructor;
  return new Ctor(`unix:${socket}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, unknown>;
}

/** Promisified unary call with a deadline, so a hanging plugin fails the test instead of stalling it. */
export function call<Res>(
  client: grpc.Client & Record<string, unknown>,
  method: string,
  request: unknown,
  deadlineMs = 3000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as (
      req: unknown,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res: Res) => void,
    ) => void;
    fn.call(client, request, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface HttpResult {
  status: number;
  body: Record<string, unknown> & { data?: Record<string, unknown>; auth?: Record<string, unknown> };
}

export async function vault(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<HttpResult> {
  const response = await fetch(`${url}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as HttpResult['body']) : {} };
}

export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  attempts = 60,
  delayMs = 250,
): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await probe();
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  return last as T;
}
