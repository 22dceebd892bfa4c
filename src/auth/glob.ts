/**
 * Vault's glob for bound names (go-glob): `*` matches any run of characters, anywhere, any number of times;
 * everything else is literal. `*` alone matches everything, `web-*` a prefix, `*-prod` a suffix.
 */
export function globMatch(pattern: string, subject: string): boolean {
  if (!pattern.includes('*')) return pattern === subject;
  const parts = pattern.split('*');
  const first = parts[0] as string;
  const last = parts[parts.length - 1] as string;
  if (subject.length < first.length + last.length) return false;
  if (!subject.startsWith(first) || !subject.endsWith(last)) return false;
  // Middle parts must appear in order between the fixed prefix and suffix; leftmost matching is optimal here.
  let at = first.length;
  const end = subject.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] as string;
    const found = subject.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

export function matchesAny(patterns: readonly string[], subject: string): boolean {
  return patterns.some((pattern) => globMatch(pattern, subject));
}
