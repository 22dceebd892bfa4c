import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Admission, ObserveBody } from './admission.js';
import { RequestFramer } from './request-framer.js';

/**
 * Vault clients (node-vault, hvac, the vault CLI's older paths) list with the HTTP method `LIST`, which Node's
 * HTTP parser rejects before any framework sees the request. We accept it without a proxy and without touching
 * request framing: each connection's bytes pass through a RequestFramer that rewrites a leading `LIST ` into the
 * same-length `LOCK ` and reports, per request start, whether it did so. Node's parser then builds one request
 * object per parsed request, and that object is tagged with its own flag as it is built (see TaggedIncomingMessage)
 * — whatever happens to the request afterwards (an automatic 417, a 503 while closing, a handler), no later request
 * can inherit it. When a tagged request reaches the handler, a LOCK that we rewrote becomes `GET ...?list=true` —
 * exactly what Vault treats LIST as, and a method every framework routes — while a LOCK a client really sent stays
 * LOCK (and is refused).
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * Flags the framer has reported for requests whose bytes went to the parser but which the parser has not built yet.
 * The framer sees every byte before the parser does, so it is always ahead; the parser takes exactly one flag for
 * every request it builds, in order, from the constructor below. Nothing else reads or writes this queue.
 */
const unparsedFlags = new WeakMap<object, boolean[]>();
const listRewritten = Symbol('strongroom.listRewritten');
const bodyObserver = Symbol('strongroom.bodyObserver');

/**
 * Node's parser constructs one of these per request it parses (`IncomingMessage` server option), before it decides
 * whether the request reaches the 'request' event, 'checkExpectation', an automatic 417/503, or nothing. Tagging
 * here is what keeps the flag on the request it belongs to.
 */
class TaggedIncomingMessage extends http.IncomingMessage {
  readonly [listRewritten]: boolean;
  /** Told the size of every body chunk as the parser hands it over, before it is buffered (admission control). */
  [bodyObserver]: ((bytes: number) => void) | undefined = undefined;
  constructor(socket: net.Socket) {
    super(socket);
    // Past a point where the framer stopped interpreting (passthrough) the queue is empty: nothing was rewritten.
    this[listRewritten] = unparsedFlags.get(socket)?.shift() ?? false;
  }

  // Node's parser delivers every body chunk through push().
  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    const observe = this[bodyObserver];
    if (observe !== undefined && chunk !== null && (chunk as Buffer).length > 0) observe((chunk as Buffer).length);
    return super.push(chunk, encoding);
  }
}

/** Sets (or, with undefined, clears) the function told of each body chunk of `req` as it arrives. */
export const observeBody: ObserveBody = (req, onBytes) => {
  if (req instanceof TaggedIncomingMessage) req[bodyObserver] = onBytes;
};

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean;

/**
 * Puts a RequestFramer in front of Node's HTTP parser on one connection. Every byte the socket receives reaches the
 * parser through the socket's readable side (`push`, called by Node's stream layer for each read and at EOF), so
 * replacing `push` on this one socket sends all of them through the framer, in order; writes, timeouts and the
 * socket's identity stay Node's own (a wrapper stream around each socket cost a third of a small request's time).
 *
 * Node's HTTP server would otherwise "consume" the socket natively, feeding its parser without JS seeing the bytes;
 * marking the handle as already consumed keeps it on the JS path. Should a future Node ignore that mark, bytes would
 * bypass the framer entirely: a LIST then meets Node's parser as it is and gets a 400 (fail closed), and the test
 * suite catches it.
 */
function frame(socket: net.Socket): void {
  const flags: boolean[] = [];
  const framer = new RequestFramer((rewritten) => flags.push(rewritten));
  const push = (socket.push as Push).bind(socket);
  (socket as unknown as { push: Push }).push = (chunk, encoding) => {
    if (chunk === null) {
      const rest = framer.flush();
      if (rest.length > 0) push(rest);
      return push(null);
    }
    const out = framer.push(chunk as Buffer);
    // Bytes the framer holds back (a possible `LIST ` split across reads) come out with the next chunk.
    return out.length > 0 ? push(out, encoding) : true;
  };
  const handle = (socket as unknown as { _handle?: { _consumed?: boolean } | null })._handle;
  if (handle) handle._consumed = true;
  // TLS: application data that arrived with the handshake may already be buffered; it must go through the framer too.
  if (socket.readableLength > 0) {
    const pending = socket.read() as Buffer | null;
    if (pending && pending.length > 0) {
      const out = framer.push(pending);
      if (out.length > 0) socket.unshift(out);
    }
  }
  unparsedFlags.set(socket, flags);
}

/** Route each new connection of `server` (emitted as `event`) through a framer before Node's HTTP layer sees it. */
function interpose(server: net.Server, event: 'connection' | 'secureConnection'): void {
  const listeners = server.listeners(event) as Array<(socket: net.Socket) => void>;
  server.removeAllListeners(event);
  server.on(event, (socket: net.Socket) => {
    frame(socket);
    for (const listener of listeners) listener.call(server, socket);
  });
}

function restoreListMethod(handler: Handler): Handler {
  return (req, res) => {
    if ((req as Partial<TaggedIncomingMessage>)[listRewritten] === true && req.method === 'LOCK') {
      req.method = 'GET';
      req.url = `${req.url ?? '/'}${req.url?.includes('?') ? '&' : '?'}list=true`;
    }
    handler(req, res);
  };
}

/**
 * An `Expect` other than 100-continue: Node would answer a bare 417 itself. Answer it in Vault's error shape instead.
 * The request never reaches a handler; its body (if any) is framed by its own headers, so Node's parser reads past
 * it and the connection stays usable. (Vault, being Go, also closes the connection; there is no need to.)
 */
function refuseExpectation(_req: http.IncomingMessage, res: http.ServerResponse): void {
  const body = JSON.stringify({ errors: ['unsupported Expect header; only "100-continue" is supported'] });
  res.writeHead(417, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export interface ListAwareServerOptions {
  tls?: { cert: Buffer; key: Buffer };
  /** Passed to http.createServer / https.createServer (timeouts, header limits). */
  http?: http.ServerOptions;
  /** Bounds on request bytes and requests in progress (built with `observeBody` from this module). */
  admission?: Admission;
}

/** An http(s) server that understands Vault's LIST method; use it as Fastify's `serverFactory`. */
export function createListAwareServer(
  options: ListAwareServerOptions,
  fastifyHandler: Handler,
): http.Server | https.Server {
  // Admission first: a refused request is answered before anything else looks at it.
  const handler = options.admission
    ? options.admission.wrap(restoreListMethod(fastifyHandler))
    : restoreListMethod(fastifyHandler);
  if (options.tls) {
    const server = https.createServer(
      { ...options.http, IncomingMessage: TaggedIncomingMessage, cert: options.tls.cert, key: options.tls.key },
      handler,
    );
    server.on('checkExpectation', refuseExpectation);
    interpose(server, 'secureConnection');
    return server;
  }
  const server = http.createServer({ ...options.http, IncomingMessage: TaggedIncomingMessage }, handler);
  server.on('checkExpectation', refuseExpectation);
  interpose(server, 'connection');
  return server;
}
