/**
 * Request bodies are JSON. JSON.parse itself copes with any nesting, but everything after it that walks the value
 * (audit redaction and hashing, structured clone to the audit thread, JSON.stringify, validation) recurses, and a
 * body nested 200 000 levels deep would overflow the stack somewhere in the middle of a request — after
 * authentication, with the request entry half audited. So nesting is bounded here, before the value exists and before
 * any other work, like Vault's listener option `max_json_depth` (default 500).
 */
export const DEFAULT_MAX_JSON_DEPTH = 500;
/**
 * The most `max_json_depth` may be set to. The walkers after parsing recurse a few frames per level; json-body.test.ts
 * shows they handle this depth plus an audit event's own levels with room to spare on Node's default stack.
 */
export const MAX_CONFIGURABLE_JSON_DEPTH = 1000;

/** The characters that matter for nesting: quotes (strings are skipped) and brackets. */
const STRUCTURAL = /["[\]{}]/g;

/**
 * True when `text` opens more than `maxDepth` objects/arrays at once. Brackets inside strings do not count. Works on
 * any text (valid JSON or not) in one pass without allocating; a text too short to reach the depth is not scanned.
 * Jumps from one structural character to the next (and from a string's opening quote to its closing one) with native
 * searches, so a body that is mostly one large string value costs next to nothing.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  // Every level needs an opening bracket: a text this short cannot be too deep.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  const structural = new RegExp(STRUCTURAL.source, 'g');
  for (let match = structural.exec(text); match !== null; match = structural.exec(text)) {
    const at = match.index;
    const c = text.charCodeAt(at);
    if (c === 0x22) {
      structural.lastIndex = endOfString(text, at + 1);
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else {
      depth--;
    }
  }
  return false;
}

/** The index just past the quote that closes the string whose contents start at `from` (or the text's end). */
function endOfString(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    // The quote is escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    while (quote - backslashes - 1 >= from && text.charCodeAt(quote - backslashes - 1) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

export class BodyError extends Error {
  readonly statusCode = 400;
}

/** The request body as a value: undefined for an empty body, a 400 BodyError for bad or too deeply nested JSON. */
export function parseJsonBody(body: string, maxDepth: number): unknown {
  const text = body.trim();
  if (text === '') return undefined;
  if (jsonNestingExceeds(text, maxDepth)) throw new BodyError(`the request body is nested deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError('the request body is not valid JSON');
  }
}
