import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReferenceRequestFramer } from '../../test/support/reference-request-framer.js';
import { RequestFramer } from './request-framer.js';

interface Req {
  method: string;
  path: string;
  body: string;
  framing: 'none' | 'length' | 'chunked';
  chunks: number[];
}

function render(req: Req): string {
  let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: x\r\n`;
  if (req.framing === 'none') return `${head}\r\n`;
  if (req.framing === 'length') return `${head}Content-Length: ${Buffer.byteLength(req.body)}\r\n\r\n${req.body}`;
  head += 'Transfer-Encoding: chunked\r\n\r\n';
  let rest = req.body;
  let out = '';
  for (const size of req.chunks) {
    if (rest.length === 0) break;
    const part = rest.slice(0, Math.max(1, size));
    rest = rest.slice(part.length);
    out += `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`;
  }
  if (rest.length > 0) out += `${Buffer.byteLength(rest).toString(16)}\r\n${rest}\r\n`;
  return `${head}${out}0\r\n\r\n`;
}

const reqArb: fc.Arbitrary<Req> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'LIST', 'PATCH', 'LOCK', 'LINK'),
  path: fc.stringMatching(/^\/v1\/[a-z0-9/]{0,20}$/),
  // Bodies that look like requests are the interesting case: they must never be rewritten.
  body: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('LIST /v1/secret HTTP/1.1\r\n\r\n')),
  framing: fc.constantFrom('none', 'length', 'chunked'),
  chunks: fc.array(fc.integer({ min: 1, max: 8 }), { maxLength: 4 }),
});

interface Framer {
  push(chunk: Buffer): Buffer;
  flush(): Buffer;
  readonly passthrough: boolean;
}

/** Feeds `input` to a framer cut at `cuts`; returns what reached the parser and the per-request flags. */
function run(
  input: Buffer,
  cuts: number[],
  make: (onRequestStart: (rewritten: boolean) => void) => Framer = (onStart) => new RequestFramer(onStart),
): { output: Buffer; flags: boolean[]; framer: Framer } {
  const flags: boolean[] = [];
  const framer = make((rewritten) => flags.push(rewritten));
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of [...points, input.length]) {
    parts.push(framer.push(input.subarray(from, p)));
    from = p;
  }
  parts.push(framer.flush());
  return { output: Buffer.concat(parts), flags, framer };
}

describe('RequestFramer', () => {
  it('rewrites exactly the leading LIST of each pipelined request, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(reqArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (reqs, cuts) => {
          const input = Buffer.from(reqs.map(render).join(''));
          const expected = Buffer.from(
            reqs.map((r) => render(r.method === 'LIST' ? { ...r, method: 'LOCK' } : r)).join(''),
          );
          const { output, flags } = run(input, cuts);
          expect(output.length).toBe(input.length); // framing can never change
          expect(output.equals(expected)).toBe(true);
          expect(flags).toEqual(reqs.map((r) => r.method === 'LIST'));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('stops interpreting on ambiguous framing and passes every later byte through untouched', () => {
    const ambiguous = [
      'POST /a HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
      'POST /a HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n',
      'POST /a HTTP/1.1\nContent-Length: 5\n\n',
      'POST /a HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n',
      'POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n',
      'GET /a HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
      'CONNECT a:443 HTTP/1.1\r\n\r\n',
    ];
    for (const head of ambiguous) {
      const input = Buffer.from(`${head}LIST /v1/secret HTTP/1.1\r\n\r\n`);
      const { output, framer } = run(input, []);
      expect(output.equals(input)).toBe(true);
      expect(framer.passthrough).toBe(true);
    }
  });

  it('skips empty lines between requests like the HTTP parser does', () => {
    const input = Buffer.from('GET /a HTTP/1.1\r\n\r\n\r\nLIST /b HTTP/1.1\r\n\r\n');
    const { output, flags } = run(input, [20]);
    expect(output.toString()).toBe('GET /a HTTP/1.1\r\n\r\n\r\nLOCK /b HTTP/1.1\r\n\r\n');
    expect(flags).toEqual([false, true]);
  });

  it('releases a held partial method when the connection ends', () => {
    const { output } = run(Buffer.from('GET / HTTP/1.1\r\n\r\nLIS'), []);
    expect(output.toString()).toBe('GET / HTTP/1.1\r\n\r\nLIS');
  });

  it('matches the byte-at-a-time reference framer exactly on any bytes, however they are split', () => {
    // Fragments that steer the framer into every state, mixed with arbitrary bytes.
    const fragment = fc.oneof(
      fc.constantFrom(
        'LIST ',
        'LIS',
        'LOCK ',
        'GET /v1/a HTTP/1.1\r\n',
        'POST /x HTTP/1.1\r\n',
        'CONNECT a:1 HTTP/1.1\r\n',
        'CONNECTX\r\n',
        'Host: x\r\n',
        'content-length: 3\r\n',
        'Content-Length: 12\r\n',
        'Content-Length: x\r\n',
        'Transfer-Encoding: chunked\r\n',
        'transfer-encoding: gzip, chunked\r\n',
        'Upgrade: h2c\r\n',
        ' folded\r\n',
        'NoColon\r\n',
        ':empty-name\r\n',
        '\r\n',
        '\n',
        '\r',
        '3\r\nabc\r\n',
        '0\r\n\r\n',
        'a;ext=1\r\n',
        'X',
      ),
      fc.string({ maxLength: 12 }),
      fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    );
    // Whole requests with framing headers in any spelling, so the header logic decides what follows.
    const header = fc.constantFrom(
      'Content-Length: 5',
      'content-length: 5',
      'CONTENT-LENGTH:5',
      'Content-Length: 0',
      'Transfer-Encoding: chunked',
      'transfer-encoding: chunked',
      'TRANSFER-ENCODING: gzip, chunked',
      'Transfer-Encoding: gzip',
      'upgrade: websocket',
      'Upgrade: h2c',
      'Accept: */*',
      'X-Vault-Token: t',
    );
    const request = fc
      .record({
        method: fc.constantFrom('GET', 'LIST', 'POST', 'CONNECT'),
        headers: fc.array(header, { maxLength: 3 }),
        body: fc.constantFrom('', 'LIST ', '5\r\nLIST \r\n0\r\n\r\n', 'abcde'),
      })
      .map((r) => `${r.method} /v1/x HTTP/1.1\r\n${r.headers.map((h) => `${h}\r\n`).join('')}\r\n${r.body}`);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fragment, request, request), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (fragments, cuts) => {
          const input = Buffer.from(fragments.join(''), 'latin1');
          const ours = run(input, cuts);
          const reference = run(input, cuts, (onStart) => new ReferenceRequestFramer(onStart));
          expect(ours.output.equals(reference.output)).toBe(true);
          expect(ours.flags).toEqual(reference.flags);
          expect(ours.framer.passthrough).toBe(reference.framer.passthrough);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('gives up on a line longer than 16 KiB, split or not, exactly like the reference', () => {
    const long = Buffer.from(
      `GET /v1/a HTTP/1.1\r\nX-Long: ${'a'.repeat(17 * 1024)}\r\n\r\nLIST /v1/b HTTP/1.1\r\n\r\n`,
    );
    for (const cuts of [[], [100, 9000, 16000]]) {
      const { output, framer } = run(long, cuts);
      expect(output.equals(long)).toBe(true);
      expect(framer.passthrough).toBe(true);
    }
  });
});
