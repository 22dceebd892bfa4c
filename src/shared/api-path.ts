import { invalid } from './errors.js';

/**
 * Checks a logical API path ('secret/data/app', possibly with a '?query') that a client is about to put into a URL of
 * a Vault-compatible server. The server refuses '.' and '..' segments, but it never sees what a URL parser removed
 * first: WHATWG URLs (fetch, `new URL`) resolve `..`, `%2e%2e`, `.%2E` and friends, treat `\` as `/`, and drop tabs
 * and newlines (so `.<TAB>.` becomes `..`), all before the request leaves. A path built from user input could then
 * address a different path than the one that was validated and shown, e.g. `secret/data/%2e%2e/%2e%2e/sys/...`.
 *
 * So the path is judged in every form a server or proxy along the way might decode it to: each segment is
 * percent-decoded again and again until nothing changes, and no form may be a dot segment or hold a separator
 * (`/`, `\`) or a control character. `#` is refused (it would cut the path); the query part is not a path and is
 * left alone.
 */
export function apiPathProblem(path: string): string | undefined {
  const q = path.indexOf('?');
  const pathPart = q === -1 ? path : path.slice(0, q);
  if (CONTROL.test(path)) return 'must not contain control characters';
  if (pathPart.includes('\\')) return 'must not contain a backslash';
  if (pathPart.includes('#')) return "must not contain '#'";
  for (const segment of pathPart.split('/')) {
    let form = segment;
    for (;;) {
      if (form === '.' || form === '..') return "must not contain '.' or '..' segments, plain or percent-encoded";
      if (form !== segment && (form.includes('/') || form.includes('\\')))
        return 'must not contain percent-encoded separators (%2F, %5C)';
      if (CONTROL.test(form)) return 'must not contain control characters, plain or percent-encoded';
      const decoded = percentDecodeOnce(form);
      if (decoded === form) break;
      form = decoded;
    }
  }
  return undefined;
}

/** Throws 'invalid' naming `what` when apiPathProblem finds something. The path itself stays out of the message. */
export function assertSafeApiPath(path: string, what: string): void {
  const problem = apiPathProblem(path);
  if (problem) throw invalid(`${what} ${problem}`, { reason: 'unsafe_path' });
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Decodes every well-formed %XX triplet (as a lenient server would); a stray '%' stays as it is. */
function percentDecodeOnce(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
