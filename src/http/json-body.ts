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

const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when `text` opens more than `maxDepth` objects/arrays at once. Brackets inside strings do not count. Works on
 * any text (valid JSON or not) in one pass without allocating; a text too short to reach the depth is not scanned.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  // Every level needs an opening and a closing bracket (or, for invalid JSON, at least an opening one).
  if (text.length <= maxDepth) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string; an escaped quote does not end it.
      for (i++; i < length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
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
