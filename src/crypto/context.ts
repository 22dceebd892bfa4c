/**
 * Associated data that binds a ciphertext to its place. Parts are length-prefixed, so no two different part
 * lists encode to the same bytes (["a/b", "c"] and ["a", "b/c"] differ), which is what makes the binding sound.
 *
 * Each part is a 4-byte big-endian length and its UTF-8 bytes: `s` + the string, or `#` + the number in decimal.
 * Built in one allocation: every KV read and write encodes one.
 */
export function encodeContext(...parts: ReadonlyArray<string | number>): Buffer {
  const texts = parts.map((part) => (typeof part === 'number' ? `#${part}` : `s${part}`));
  let total = 0;
  for (const text of texts) total += 4 + Buffer.byteLength(text, 'utf8');
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const text of texts) {
    const written = out.write(text, at + 4, 'utf8');
    out.writeUInt32BE(written, at);
    at += 4 + written;
  }
  return out;
}
