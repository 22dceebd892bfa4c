/**
 * Nesting depth of JSON text, measured before parsing. JSON.parse copes with any depth, but the code that walks the
 * parsed value afterwards usually recurses; bounding the depth of untrusted JSON first keeps a stack overflow from
 * happening half-way through other work. Used by the HTTP body parser and the operator's template `fromJson`.
 */
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
