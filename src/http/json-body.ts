/**
 * Request bodies are JSON. JSON.parse itself copes with any nesting, but everything after it that walks the value
 * (audit redaction and hashing, structured clone to the audit thread, JSON.stringify, validation) recurses, and a
 * body nested 200 000 levels deep would overflow the stack somewhere in the middle of a request — after
 * authentication, with the request entry half audited. So nesting is bounded here, before the value exists and before
 * any other work, like Vault's listener option `max_json_depth` (default 500).
 */
import { jsonNestingExceeds } from '../shared/json-depth.js';

export { jsonNestingExceeds };

export const DEFAULT_MAX_JSON_DEPTH = 500;
/**
 * The most `max_json_depth` may be set to. The walkers after parsing recurse a few frames per level; json-body.test.ts
 * shows they handle this depth plus an audit event's own levels with room to spare on Node's default stack.
 */
export const MAX_CONFIGURABLE_JSON_DEPTH = 1000;

export class BodyError extends Error {
  readonly statusCode = 400;
}

/** The request body as a value: undefined for an empty body, a 400 BodyError for bad or too deeply nested JSON. */
export function parseJsonBody(body: string, maxDepth: number): unknown {
  const text = body.trim();
  if (text === '') return undefined;
  if (jsonNestingExceeds(text, maxDepth))
    throw new BodyError(`the request body is nested deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError('the request body is not valid JSON');
  }
}
