/**
 * TESTS ONLY: the first, byte-at-a-time RequestFramer, kept as the reference model that src/http/request-framer.ts
 * (which scans lines natively) must match byte for byte, flag for flag (see request-framer.test.ts).
 *
 * Follows HTTP/1.1 request framing on one connection so the `LIST` method (Vault's, which Node's parser rejects)
 * can be recognised at the start of each request and rewritten to the same-length token `LOCK`, which the parser
 * accepts. Rewriting the same number of bytes means this layer can never change where a request or body ends —
 * Node's own parser still decides all framing. On anything it does not fully understand (bare LF, obsolete line
 * folding, duplicate or invalid Content-Length, Transfer-Encoding other than a final `chunked`, both framing
 * headers, Upgrade, CONNECT, oversized lines) the framer stops interpreting and passes every remaining byte of the
 * connection through untouched: Node's parser then accepts or rejects it exactly as it would without us, and a
 * `LIST` it cannot see gets Node's 400. That is the fail-closed direction.
 */

const CR = 0x0d;
const LF = 0x0a;
const LIST = Buffer.from('LIST ');
const LOCK = Buffer.from('LOCK ');
/** Longest request line or header line we interpret; Node's own default header limit is 16 KiB in total. */
const MAX_LINE = 16 * 1024;

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

export class ReferenceRequestFramer {
  private state: State = { kind: 'start' };
  /** Bytes of the current line (request line, header, chunk size, trailer), kept only while interpreting. */
  private line: number[] = [];
  /** Method bytes held back at a request start while they could still become `LIST `. */
  private held: number[] = [];
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
    const out: Buffer[] = [];
    let from = 0; // start of the not-yet-emitted run of `chunk`
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const state: State = this.state;
      switch (state.kind) {
        case 'start': {
          if (this.held.length === 0 && (byte === CR || byte === LF)) break; // empty lines before a request
          if (this.held.length === 0) {
            // Emit what came before the method; method bytes are held until we know.
            if (i > from) out.push(chunk.subarray(from, i));
            from = i;
          }
          if (byte === LIST[this.held.length]) {
            this.held.push(byte);
            from = i + 1;
            if (this.held.length === LIST.length) {
              out.push(LOCK);
              this.held = [];
              this.beginRequest(true);
            }
          } else {
            // Not LIST: release what was held unchanged, and this byte starts the ordinary run.
            if (this.held.length > 0) out.push(Buffer.from(this.held));
            this.held = [];
            from = i;
            this.beginRequest(false);
            this.line.push(byte);
            if (byte === CR || byte === LF) this.failOpen();
          }
          break;
        }
        case 'request-line':
        case 'headers':
        case 'trailers':
        case 'chunk-size': {
          if (byte === LF) {
            if (this.line[this.line.length - 1] !== CR) {
              this.failOpen(); // bare LF: leave the verdict to Node's parser
              break;
            }
            this.line.pop();
            const text = Buffer.from(this.line).toString('latin1');
            this.line = [];
            this.endOfLine(text);
          } else {
            this.line.push(byte);
            if (this.line.length > MAX_LINE) this.failOpen();
          }
          break;
        }
        case 'body':
        case 'chunk-data': {
          const take = Math.min(state.remaining, chunk.length - i);
          state.remaining -= take;
          i += take - 1;
          if (state.remaining === 0)
            this.state = state.kind === 'body' ? this.nextRequest() : { kind: 'chunk-crlf', seen: 0 };
          break;
        }
        case 'chunk-crlf': {
          const expected = state.seen === 0 ? CR : LF;
          if (byte !== expected) {
            this.failOpen();
          } else if (++state.seen === 2) {
            this.state = { kind: 'chunk-size' };
          }
          break;
        }
      }
      if (this.state.kind === 'passthrough') {
        // Release anything held and the rest of the chunk as it is.
        if (this.held.length > 0) out.push(Buffer.from(this.held));
        this.held = [];
        out.push(chunk.subarray(from));
        return out.length === 1 ? out[0]! : Buffer.concat(out);
      }
    }
    if (from < chunk.length) out.push(chunk.subarray(from));
    if (out.length === 1) return out[0]!;
    return Buffer.concat(out);
  }

  /** The connection ended: release held bytes so the parser reports the truncated request itself. */
  flush(): Buffer {
    const rest = Buffer.from(this.held);
    this.held = [];
    return rest;
  }

  private beginRequest(rewritten: boolean): void {
    this.onRequestStart(rewritten);
    this.state = { kind: 'request-line' };
    this.line = [];
    this.contentLength = null;
    this.chunked = false;
    this.sawTransferEncoding = false;
    this.giveUpAfterRequest = false;
  }

  private nextRequest(): State {
    return this.giveUpAfterRequest ? { kind: 'passthrough' } : { kind: 'start' };
  }

  private failOpen(): void {
    this.state = { kind: 'passthrough' };
    this.line = [];
  }

  private endOfLine(text: string): void {
    switch (this.state.kind) {
      case 'request-line': {
        const method = text.slice(0, text.indexOf(' '));
        // A tunnel's bytes after CONNECT are not HTTP requests.
        if (method === 'CONNECT' || method === '') return this.failOpen();
        this.state = { kind: 'headers' };
        return;
      }
      case 'headers':
        return text === '' ? this.endOfHeaders() : this.header(text);
      case 'trailers':
        if (text === '') this.state = this.nextRequest();
        else if (text.startsWith(' ') || text.startsWith('\t')) this.failOpen();
        return;
      case 'chunk-size': {
        const size = text.split(';', 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,12}$/.test(size)) return this.failOpen();
        const n = parseInt(size, 16);
        this.state = n === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', remaining: n };
        return;
      }
      default:
        return;
    }
  }

  private header(text: string): void {
    if (text.startsWith(' ') || text.startsWith('\t')) return this.failOpen(); // obsolete line folding
    const colon = text.indexOf(':');
    if (colon <= 0) return this.failOpen();
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
    if (this.chunked) this.state = { kind: 'chunk-size' };
    else if (this.contentLength !== null && this.contentLength > 0)
      this.state = { kind: 'body', remaining: this.contentLength };
    else this.state = this.nextRequest();
  }
}
