/**
 * Associated data that binds a ciphertext to its place. Parts are length-prefixed, so no two different part
 * lists encode to the same bytes (["a/b", "c"] and ["a", "b/c"] differ), which is what makes the binding sound.
 */
export function encodeContext(...parts: ReadonlyArray<string | number>): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(typeof part === 'number' ? `#${part}` : `s${part}`, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  }
  return Buffer.concat(chunks);
}
