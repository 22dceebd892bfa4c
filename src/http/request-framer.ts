/**
 * Follows HTTP/1.1 request framing on one connection so the `LIST` method (Vault's, which Node's parser rejects)
 * can be recognised at the start of each request and rewritten to the same-length token `LOCK`, which the parser
 * accepts. Rewriting the same number of bytes means this layer can never change where a request or body ends —
 * Node's own parser still decides all framing. On anything it does not fully understand (bare LF, obsolete line
 * folding, duplicate or invalid Content-Length, Transfer-Encoding other than a final `chunked`, both framing
 * headers, Upgrade, CONNECT, oversized lines) the framer stops interpreting and passes every remaining byte of the
 * connection through untouched: Node's parser then accepts or rejects it exactly as it would without us, and a
 * `LIST` it cannot see gets Node's 400. That is the fail-closed direction.
 *
 * Every request passes through here, so lines are found with Buffer.indexOf (native) rather than byte by byte, and
 * a header line is decoded to a string only when its first byte could start one of the three headers that matter
 * (Content-Length, Transfer-Encoding, Upgrade) or an obsolete fold. The byte-at-a-time original is kept in
 * test/support as the model this one must match exactly.
 */

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
const SPACE = 0x20;
const TAB = 0x09;
const LIST = Buffer.from('LIST ');
const LOCK = Buffer.from('LOCK ');
/** Longest request line or header line we interpret; Node's own default header limit is 16 KiB in total. */
const MAX_LINE = 16 * 1024;

/** First bytes of the header names we act on: c/C (content-length), t/T (transfer-encoding), u/U (upgrade). */
const INTERESTING_FIRST_BYTE = new Uint8Array(256);
for (const ch of 'cCtTuU') INTERESTING_FIRST_BYTE[ch.charCodeAt(0)] = 1;

type State =
  | { kind: 'start' } // before a request: skipping CRLFs, matching the method
  | { kind: 'request-line' }
  | { kind: 'headers' }
  | { kind: 'body'; remaining: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'chunk-crlf'; seen: number }
  | { kind: 'trailers' }
  | { kind: 'passthrough' };

const START: State = { kind: 'start' };
const REQUEST_LINE: State = { kind: 'request-line' };
const HEADERS: State = { kind: 'headers' };
const CHUNK_SIZE: State = { kind: 'chunk-size' };
const TRAILERS: State = { kind: 'trailers' };
const PASSTHROUGH: State = { kind: 'passthrough' };

export class RequestFramer {
  private state: State = START;
  /** The current line's bytes from earlier chunks (copied), while it is split across reads. */
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Method bytes held back at a request start while they could still become `LIST `. */
  private held = 0;
  private contentLength: number | null = null;
  private chunked = false;
  private sawTransferEncoding = false;
  private giveUpAfterRequest = false;

  /** Called once per request start, in order, with whether its method was rewritten from LIST. */
  constructor(private readonly onRequestStart: (rewritten: boolean) => void) {}

  get passthrough(): boolean {
    return this.state.kind === 'passthrough';
  }

  /** Consumes one chunk; returns the bytes to hand to the HTTP parser (usually the same chunk). */
  push(chunk: Buffer): Buffer {
    if (this.state.kind === 'passthrough') return chunk;
    let out: Buffer[] | null = null;
    const emit = (bytes: Buffer) => (out ??= []).push(bytes);
    let from = 0; // start of the not-yet-emitted run of `chunk`
    let i = 0;
    while (i < chunk.length) {
      const state: State = this.state;
      switch (state.kind) {
        case 'start': {
          const byte = chunk[i]!;
          if (this.held === 0 && (byte === CR || byte === LF)) {
            i++; // empty lines before a request
            break;
          }
          if (this.held === 0) {
            // Emit what came before the method; method bytes are held until we know.
            if (i > from) emit(chunk.subarray(from, i));
            from = i;
          }
          if (byte === LIST[this.held]) {
            this.held++;
            i++;
            from = i;
            if (this.held === LIST.length) {
              emit(LOCK);
              this.held = 0;
              this.beginRequest(true);
            }
          } else {
            // Not LIST: release what was held unchanged; this byte starts the request line (read by the next case).
            if (this.held > 0) emit(LIST.subarray(0, this.held));
            this.held = 0;
            from = i;
            this.beginRequest(false);
            if (byte === CR || byte === LF) this.failOpen();
          }
          break;
        }
        case 'request-line':
        case 'headers':
        case 'trailers':
        case 'chunk-size': {
          const lf = chunk.indexOf(LF, i);
          const end = lf === -1 ? chunk.length : lf;
          if (this.partialLength + (end - i) > MAX_LINE) {
            this.failOpen();
            break;
          }
          if (lf === -1) {
            // The line continues in the next read: keep a copy (the chunk is not ours to hold on to).
            this.partial.push(Buffer.from(chunk.subarray(i, end)));
            this.partialLength += end - i;
            i = chunk.length;
            break;
          }
          const line = this.takeLine(chunk.subarray(i, lf));
          i = lf + 1;
          if (line.length === 0 || line[line.length - 1] !== CR) {
            this.failOpen(); // bare LF: leave the verdict to Node's parser
            break;
          }
          this.endOfLine(line.subarray(0, line.length - 1));
          break;
        }
        case 'body':
        case 'chunk-data': {
          const take = Math.min(state.remaining, chunk.length - i);
          state.remaining -= take;
          i += take;
          if (state.remaining === 0)
            this.state = state.kind === 'body' ? this.nextRequest() : { kind: 'chunk-crlf', seen: 0 };
          break;
        }
        case 'chunk-crlf': {
          const expected = state.seen === 0 ? CR : LF;
          if (chunk[i] !== expected) {
            this.failOpen();
          } else if (++state.seen === 2) {
            this.state = CHUNK_SIZE;
          }
          i++;
          break;
        }
      }
      if (this.state.kind === 'passthrough') {
        // Release anything held and the rest of the chunk as it is.
        if (this.held > 0) emit(LIST.subarray(0, this.held));
        this.held = 0;
        emit(chunk.subarray(from));
        return concat(out!);
      }
    }
    if (out === null) return from === 0 ? chunk : chunk.subarray(from);
    if (from < chunk.length) emit(chunk.subarray(from));
    return concat(out);
  }

  /** The connection ended: release held bytes so the parser reports the truncated request itself. */
  flush(): Buffer {
    const rest = Buffer.from(LIST.subarray(0, this.held));
    this.held = 0;
    return rest;
  }

  private takeLine(last: Buffer): Buffer {
    if (this.partialLength === 0) return last;
    const line = Buffer.concat([...this.partial, last]);
    this.partial = [];
    this.partialLength = 0;
    return line;
  }

  private beginRequest(rewritten: boolean): void {
    this.onRequestStart(rewritten);
    this.state = REQUEST_LINE;
    this.partial = [];
    this.partialLength = 0;
    this.contentLength = null;
    this.chunked = false;
    this.sawTransferEncoding = false;
    this.giveUpAfterRequest = false;
  }

  private nextRequest(): State {
    return this.giveUpAfterRequest ? PASSTHROUGH : START;
  }

  private failOpen(): void {
    this.state = PASSTHROUGH;
    this.partial = [];
    this.partialLength = 0;
  }

  /** One complete line without its CRLF. */
  private endOfLine(line: Buffer): void {
    switch (this.state.kind) {
      case 'request-line': {
        // A tunnel's bytes after CONNECT are not HTTP requests. (Without a space the line is no request line at all;
        // Node's parser refuses it, and like the reference model we take all but its last byte as the method.)
        const space = line.indexOf(SPACE);
        const method = line.subarray(0, space === -1 ? Math.max(0, line.length - 1) : space);
        if (method.length === 0 || method.toString('latin1') === 'CONNECT') return this.failOpen();
        this.state = HEADERS;
        return;
      }
      case 'headers':
        return line.length === 0 ? this.endOfHeaders() : this.header(line);
      case 'trailers':
        if (line.length === 0) this.state = this.nextRequest();
        else if (line[0] === SPACE || line[0] === TAB) this.failOpen();
        return;
      case 'chunk-size': {
        const size = line.toString('latin1').split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(size)) return this.failOpen();
        const n = parseInt(size, 16);
        this.state = n === 0 ? TRAILERS : { kind: 'chunk-data', remaining: n };
        return;
      }
      default:
        return;
    }
  }

  private header(line: Buffer): void {
    const first = line[0]!;
    if (first === SPACE || first === TAB) return this.failOpen(); // obsolete line folding
    const colon = line.indexOf(COLON);
    if (colon <= 0) return this.failOpen();
    if (INTERESTING_FIRST_BYTE[first] === 0) return;
    const text = line.toString('latin1');
    const name = text.slice(0, colon).toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (this.contentLength !== null || !/^[0-9]{1,15}$/.test(value)) return this.failOpen();
      this.contentLength = Number(value);
    } else if (name === 'transfer-encoding') {
      if (this.sawTransferEncoding) return this.failOpen();
      this.sawTransferEncoding = true;
      const codings = value
        .toLowerCase()
        .split(',')
        .map((c) => c.trim());
      if (codings[codings.length - 1] !== 'chunked') return this.failOpen();
      this.chunked = true;
    } else if (name === 'upgrade') {
      // Whether Node hands the socket to an upgrade handler depends on listeners we do not see: stop here.
      this.giveUpAfterRequest = true;
    }
  }

  private endOfHeaders(): void {
    if (this.chunked && this.contentLength !== null) return this.failOpen();
    if (this.giveUpAfterRequest) return this.failOpen();
    if (this.chunked) this.state = CHUNK_SIZE;
    else if (this.contentLength !== null && this.contentLength > 0)
      this.state = { kind: 'body', remaining: this.contentLength };
    else this.state = this.nextRequest();
  }
}

function concat(parts: Buffer[]): Buffer {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
