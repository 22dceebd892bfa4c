import { Duplex } from 'node:stream';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import { RequestFramer } from './request-framer.js';

/**
 * Vault clients (node-vault, hvac, the vault CLI's older paths) list with the HTTP method `LIST`, which Node's
 * HTTP parser rejects before any framework sees the request. We accept it without a proxy and without touching
 * request framing: each connection's bytes pass through a RequestFramer that rewrites a leading `LIST ` into the
 * same-length `LOCK ` and records, per request, that it did so. When the request reaches the handler, a LOCK that
 * we rewrote becomes `GET ...?list=true` — exactly what Vault treats LIST as, and a method every framework routes —
 * while a LOCK a client really sent stays LOCK (and is refused).
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const rewrittenFlags = new WeakMap<object, boolean[]>();

/** A socket whose inbound bytes go through a RequestFramer; everything else is the underlying socket's. */
class FramedSocket extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    framer: RequestFramer,
  ) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => {
      const out = framer.push(chunk);
      if (out.length > 0 && !this.push(out)) socket.pause();
    });
    socket.on('end', () => {
      const rest = framer.flush();
      if (rest.length > 0) this.push(rest);
      this.push(null);
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    socket.on('timeout', () => this.emit('timeout'));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, encoding, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!.chunk, chunks[i]!.encoding);
    const last = chunks[chunks.length - 1]!;
    this.socket.write(last.chunk, last.encoding, callback);
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    callback(err);
  }

  // The parts of net.Socket / tls.TLSSocket that Node's HTTP server and Fastify read.
  get remoteAddress() {
    return this.socket.remoteAddress;
  }
  get remotePort() {
    return this.socket.remotePort;
  }
  get remoteFamily() {
    return this.socket.remoteFamily;
  }
  get localAddress() {
    return this.socket.localAddress;
  }
  get localPort() {
    return this.socket.localPort;
  }
  get encrypted() {
    return (this.socket as tls.TLSSocket).encrypted === true ? true : undefined;
  }
  get authorized() {
    return (this.socket as tls.TLSSocket).authorized;
  }
  getPeerCertificate(detailed?: boolean) {
    return (this.socket as tls.TLSSocket).getPeerCertificate?.(detailed as true);
  }
  address() {
    return this.socket.address();
  }
  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout(ms);
    if (callback) this.once('timeout', callback);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  ref(): this {
    this.socket.ref();
    return this;
  }
  unref(): this {
    this.socket.unref();
    return this;
  }
  destroySoon(): void {
    this.end();
  }
}

function frame(socket: net.Socket): FramedSocket {
  const flags: boolean[] = [];
  const framed = new FramedSocket(socket, new RequestFramer((rewritten) => flags.push(rewritten)));
  rewrittenFlags.set(framed, flags);
  return framed;
}

/** Route each new connection of `server` (emitted as `event`) through a framer before Node's HTTP layer sees it. */
function interpose(server: net.Server, event: 'connection' | 'secureConnection'): void {
  const listeners = server.listeners(event) as Array<(socket: net.Socket) => void>;
  server.removeAllListeners(event);
  server.on(event, (socket: net.Socket) => {
    const framed = frame(socket);
    for (const listener of listeners) listener.call(server, framed as unknown as net.Socket);
  });
}

function restoreListMethod(handler: Handler): Handler {
  return (req, res) => {
    const flags = rewrittenFlags.get(req.socket);
    const rewritten = flags?.shift() ?? false;
    if (rewritten && req.method === 'LOCK') {
      req.method = 'GET';
      req.url = `${req.url ?? '/'}${req.url?.includes('?') ? '&' : '?'}list=true`;
    }
    handler(req, res);
  };
}

export interface ListAwareServerOptions {
  tls?: { cert: Buffer; key: Buffer };
  /** Passed to http.createServer / https.createServer (timeouts, header limits). */
  http?: http.ServerOptions;
}

/** An http(s) server that understands Vault's LIST method; use it as Fastify's `serverFactory`. */
export function createListAwareServer(options: ListAwareServerOptions, handler: Handler): http.Server | https.Server {
  if (options.tls) {
    const server = https.createServer({ ...options.http, cert: options.tls.cert, key: options.tls.key }, restoreListMethod(handler));
    interpose(server, 'secureConnection');
    return server;
  }
  const server = http.createServer({ ...options.http }, restoreListMethod(handler));
  interpose(server, 'connection');
  return server;
}
