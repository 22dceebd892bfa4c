import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Admission, ObserveBody } from './admission.js';

/**
 * Vault clients (node-vault, hvac, the vault CLI's older paths) list with the HTTP method `LIST`, which Node's
 * HTTP parser rejects. We accept it without a proxy and without ever deciding framing ourselves: Node's native parser
 * owns every connection (it reads the socket in C++: no JavaScript sees a request's bytes, the fast path), and a
 * `LIST` is recovered where the parser refuses it. The parser reports an invalid method at the byte where the method
 * stopped matching; when the bytes there provably begin a message with the method `LIST` (see `recover`), the parser
 * is reset to a message start and given the same bytes with `LIST` replaced by the same-length `LOCK`. Everything else
 * the parser decides as it would without us: where every message ends, what is refused, when the connection closes.
 * A `LIST` we cannot prove is one (after bytes that could end in `UN`: a body ending in `UN` with a LIST pipelined
 * after it) keeps the parser's own verdict: 400 and the connection closed (fail closed).
 *
 * The rewritten request is tagged on the request object itself as the parser builds it (TaggedIncomingMessage):
 * whatever happens to that request afterwards (an automatic 417, a 503 while closing, a handler), no later request
 * can inherit the tag. When a tagged request reaches the handler, its LOCK becomes `GET ...?list=true` (what Vault
 * treats LIST as, and a method every framework routes), while a LOCK a client really sent stays LOCK (and is refused).
 *
 * This reaches into Node's HTTP internals (the parser binding `_http_server` drives, its `kOnExecute` callback and the
 * server's connection list), as Node 20 has them; list-method.test.ts pins each behaviour relied on, and anything
 * missing leaves the parser's verdict in place (a LIST gets 400), never a different framing.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Node's HTTP parser binding, as `_http_server` drives it (Node 20; the tests pin what this module relies on). */
interface NodeParser {
  [callback: number]: unknown;
  execute(data: Buffer): number | ParseError;
  getCurrentBuffer(): Buffer;
  /** Milliseconds since the current message began; 0 once it is complete (no message in progress). */
  duration(): number;
  /** Whether the current message's head (request line and headers) has been read. */
  headersCompleted(): boolean;
  remove(): void;
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number, connections: unknown): void;
}
type ParseError = Error & { code?: string; bytesParsed?: number };
interface ParserClass {
  REQUEST: number;
  kOnExecute: number;
  kLenientAll: number;
  kLenientNone: number;
}
const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserClass; isLenient(): boolean };
const { HTTPParser } = common;

/**
 * The Node major whose parser internals list-method.test.ts pins. On another major a changed internal signature could
 * fail a native check (an abort, not an exception), so there the parser is left alone: a LIST gets its 400 and
 * `GET ...?list=true` still lists, until the tests pass on that major and this number moves.
 */
const PARSER_INTERNALS_MAJOR = 20;
export const listRecoveryAvailable = Number(process.versions.node.split('.')[0]) === PARSER_INTERNALS_MAJOR;

const LOCK = Buffer.from('LOCK');
const [L, I, S, T] = [0x4c, 0x49, 0x53, 0x54];
const U = 0x55;
const N = 0x4e;

const listRewritten = Symbol('strongroom.listRewritten');
const bodyObserver = Symbol('strongroom.bodyObserver');
/** On a socket: the next request the parser builds on it is a rewritten LIST. */
const nextIsList = Symbol('strongroom.nextIsList');
type FlaggedSocket = net.Socket & { [nextIsList]?: boolean; parser?: NodeParser | null };

/**
 * Node's parser constructs one of these per request it parses (`IncomingMessage` server option), before it decides
 * whether the request reaches the 'request' event, 'checkExpectation', an automatic 417/503, or nothing. Tagging
 * here is what keeps the flag on the request it belongs to: the parser builds requests in order, and the one after a
 * recovery is the rewritten LIST.
 */
class TaggedIncomingMessage extends http.IncomingMessage {
  readonly [listRewritten]: boolean;
  /** Told the size of every body chunk as the parser hands it over, before it is buffered (admission control). */
  [bodyObserver]: ((bytes: number) => void) | undefined = undefined;
  constructor(socket: net.Socket) {
    super(socket);
    const flagged = socket as FlaggedSocket | null;
    this[listRewritten] = flagged?.[nextIsList] === true;
    if (this[listRewritten]) flagged![nextIsList] = false;
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

function isInvalidMethod(ret: unknown): ret is ParseError {
  return ret instanceof Error && (ret as ParseError).code === 'HPE_INVALID_METHOD';
}

/**
 * While a message's head spans reads, the last bytes of those reads: enough for a method split across reads (the `LI`
 * before the `S` the parser stops at) and the two bytes before it (the `UN` check). Only these are kept, so a head
 * sent a byte at a time costs a copy of a few bytes per read, never of everything so far.
 */
const HELD_BYTES = 4;

/** Bytes up to the end of the last read, and whether the parser was between messages where they begin. */
interface Held {
  bytes: Buffer;
  startsMessage: boolean;
}

/**
 * Watches the parser Node gave this connection: after each read the native parser calls its `kOnExecute` callback
 * with the bytes parsed or the parse error, and that is where a refused `LIST` is recovered, before Node's own handling
 * (which, for an error, answers 400 and closes). Costs one call and one look at the parser per read, nothing per byte.
 * Only while a request line or header block is split across reads are the last bytes of its reads kept (see
 * HELD_BYTES), so that a method split across reads can still be proven.
 */
function watchParser(server: net.Server, socket: FlaggedSocket): void {
  const parser = socket.parser;
  const onExecute = parser?.[HTTPParser.kOnExecute] as ((ret: unknown) => void) | undefined;
  // Not Node's native path (nothing to watch), or internals this module was not tested on: a LIST meets the parser as
  // it is and gets its 400.
  if (!listRecoveryAvailable || !parser || typeof onExecute !== 'function') return;
  const state: WatchState = { readStartsMessage: true, held: null, deferred: null };
  parser[HTTPParser.kOnExecute] = (ret: unknown) => {
    let next: unknown;
    try {
      next = afterRead(server, socket, parser, state, ret);
    } catch {
      next = ret; // never let recovery break the connection's handling: Node decides, as without us
      state.deferred = null;
    }
    if (next !== DEFERRED) onExecute(next);
  };
}

interface WatchState {
  /** Whether the parser was between messages when the current read began; the connection's first read is. */
  readStartsMessage: boolean;
  /** While a message's head spans reads: the last bytes of its reads (see HELD_BYTES). */
  held: Held | null;
  /** A refused `LIS` at the very end of a read, waiting for its next byte; the parser's error, held back meanwhile. */
  deferred: ParseError | null;
}

const DEFERRED = Symbol('deferred');

function afterRead(
  server: net.Server,
  socket: FlaggedSocket,
  parser: NodeParser,
  state: WatchState,
  ret: unknown,
): unknown {
  // What the parser last read, from a known point: fetched (copied) only for a refused method or a head split
  // across reads. After a recovery it is our rewritten bytes, which begin a message.
  let read: Held | null = null;
  let recoverFrom: { offset: number; from: Held } | null = null;
  if (state.deferred) {
    // The parser still holds its error (it parsed nothing of this read): the held `LIS` continues with these bytes.
    const error = state.deferred;
    state.deferred = null;
    const bytes = parser.getCurrentBuffer();
    if (bytes[0] !== T) return error;
    const next = Buffer.concat([LOCK, bytes.subarray(1)]);
    ret = restart(server, socket, parser, next);
    if (ret === undefined) return error;
    read = { bytes: next, startsMessage: true };
    if (isInvalidMethod(ret)) recoverFrom = { offset: 0, from: read };
  } else if (isInvalidMethod(ret)) {
    const bytes = parser.getCurrentBuffer();
    const held = state.held;
    read = { bytes, startsMessage: state.readStartsMessage };
    recoverFrom = held
      ? {
          offset: held.bytes.length,
          from: { bytes: Buffer.concat([held.bytes, bytes]), startsMessage: held.startsMessage },
        }
      : { offset: 0, from: read };
  }
  if (recoverFrom && isInvalidMethod(ret)) {
    const recovered = recover(server, socket, parser, ret, recoverFrom.offset, recoverFrom.from);
    if (recovered === DEFERRED) {
      state.deferred = ret;
      state.held = null;
      return DEFERRED;
    }
    ret = recovered.ret;
    if (recovered.executed) {
      read = { bytes: recovered.executed, startsMessage: true };
      state.held = null;
    }
  }
  const inProgress = parser.duration() !== 0;
  if (inProgress && !parser.headersCompleted() && !(ret instanceof Error)) {
    read ??= { bytes: parser.getCurrentBuffer(), startsMessage: state.readStartsMessage };
    const bytes = state.held ? Buffer.concat([state.held.bytes, read.bytes]) : read.bytes;
    const startsMessage = state.held ? state.held.startsMessage : read.startsMessage;
    // Cut to the last bytes: where they begin is then inside a message's head, not between messages.
    state.held =
      bytes.length <= HELD_BYTES
        ? { bytes, startsMessage }
        : { bytes: Buffer.from(bytes.subarray(bytes.length - HELD_BYTES)), startsMessage: false };
  } else {
    state.held = null;
  }
  state.readStartsMessage = !inProgress;
  return ret;
}

/**
 * The parser refused a method at `err.bytesParsed` of the current read (`offset` bytes into `from.bytes`). llhttp
 * stops at the first byte that no method continues, so for a method `LIST` that is its `S`, two bytes in; the message
 * began at `at` (two bytes before) if the method bytes it consumed were exactly `LI`. The only other method prefix
 * ending in `LI` is `UNLI` (UNLINK): so the message began at `at` unless the two bytes before it may be `UN`. Before
 * `at` inside the bytes we look (and give up on `UN`: a body ending in `UN` followed by a pipelined LIST is the
 * price); before the bytes' start, the parser was between messages or it may have been. Proven, the parser is reset
 * to a message start (as Node initializes it for a new connection) and given `LOCK` and the rest of the bytes; the
 * same applies to any further LIST in those. Whatever follows `LIST` is the parser's to judge: `LOCK` followed by
 * anything but a space is no method, as `LIST` followed by it is none. A `LIS` that ends the bytes waits for one more
 * byte (DEFERRED). Returns the last parse result (or the unrecovered error) and the bytes last given to the parser,
 * if any.
 */
function recover(
  server: net.Server,
  socket: FlaggedSocket,
  parser: NodeParser,
  err: ParseError,
  offset: number,
  from: Held,
): { ret: unknown; executed: Buffer | null } | typeof DEFERRED {
  let { bytes, startsMessage } = from;
  let ret: unknown = err;
  let executed: Buffer | null = null;
  while (isInvalidMethod(ret)) {
    const at = offset + (ret.bytesParsed ?? 0) - 2;
    if (at < 0 || at + 3 > bytes.length) break;
    if (bytes[at] !== L || bytes[at + 1] !== I || bytes[at + 2] !== S) break;
    const mayFollowUn =
      at >= 2 ? bytes[at - 2] === U && bytes[at - 1] === N : !startsMessage && (at === 0 || bytes[0] === N);
    if (mayFollowUn) break;
    if (at + 3 === bytes.length) return executed === null ? DEFERRED : { ret, executed };
    if (bytes[at + 3] !== T) break;
    const next = Buffer.concat([LOCK, bytes.subarray(at + LOCK.length)]);
    const result = restart(server, socket, parser, next);
    if (result === undefined) break;
    bytes = executed = next;
    ret = result;
    offset = 0;
    startsMessage = true; // a later LIST in these bytes is at least 4 bytes in, after our LOCK
  }
  return { ret, executed };
}

/**
 * Resets the parser to a message start, exactly as Node initializes it for a new connection, marks the next request
 * it builds as a rewritten LIST, and gives it `bytes` (which start with that request's `LOCK`). Undefined when the
 * server's connection list (header and request timeouts) cannot be found: then nothing is touched.
 */
function restart(server: net.Server, socket: FlaggedSocket, parser: NodeParser, bytes: Buffer): unknown {
  const connections = connectionsOf(server);
  if (connections === undefined) return undefined;
  const httpServer = server as http.Server & { insecureHTTPParser?: boolean; maxHeaderSize?: number };
  // A reset restarts the message's clock: a head that has already used up the header timeout (a LIS sent slowly) keeps
  // its 400 rather than getting a second timeout's worth of time.
  if (httpServer.headersTimeout > 0 && parser.duration() >= httpServer.headersTimeout) return undefined;
  const lenient = httpServer.insecureHTTPParser ?? common.isLenient();
  // Out of the connection list first: it is ordered by message start time, which initialize resets.
  parser.remove();
  parser.initialize(
    HTTPParser.REQUEST,
    { type: 'HTTPINCOMINGMESSAGE', socket },
    httpServer.maxHeaderSize || 0,
    lenient ? HTTPParser.kLenientAll : HTTPParser.kLenientNone,
    connections,
  );
  socket[nextIsList] = true;
  return parser.execute(bytes);
}

/** The server's list of connections (for the header and request timeouts), which a reset parser must rejoin. */
function connectionsOf(server: net.Server): unknown {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections');
  return key === undefined ? undefined : (server as unknown as Record<symbol, unknown>)[key];
}

/** Watch the parser of each new connection of `server` (emitted as `event`), once Node's HTTP layer has set it up. */
function watchConnections(server: net.Server, event: 'connection' | 'secureConnection'): void {
  server.on(event, (socket: net.Socket) => watchParser(server, socket));
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
    watchConnections(server, 'secureConnection');
    return server;
  }
  const server = http.createServer({ ...options.http, IncomingMessage: TaggedIncomingMessage }, handler);
  server.on('checkExpectation', refuseExpectation);
  watchConnections(server, 'connection');
  return server;
}
