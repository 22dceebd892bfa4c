import type { StatementValues } from './types.js';

/**
 * Splits one statement entry into single statements on ';', as Vault does, except that a ';' inside a quoted
 * string, a quoted identifier or a PostgreSQL dollar-quoted body ($$...$$, $tag$...$tag$) does not split: so a
 * `DO $$ BEGIN ...; END $$` block stays whole. Empty pieces are dropped.
 */
export function splitStatements(entry: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < entry.length) {
    const ch = entry[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(entry, i, ch);
    } else if (ch === '$') {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(entry.slice(i));
      if (tag) {
        const end = entry.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? entry.length : end + tag[0].length;
      } else i++;
    } else if (ch === ';') {
      out.push(entry.slice(start, i));
      start = ++i;
    } else i++;
  }
  out.push(entry.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/** Index after the closing quote; a doubled quote ('it''s') or a backslash escape stays inside the string. */
function skipQuoted(text: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '\\' && quote !== '"') i += 2;
    else if (ch === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return text.length;
}

/**
 * Substitutes `{{name}}`, `{{username}}`, `{{password}}` and `{{expiration}}` (Vault's dbutil.QueryHelper: plain
 * text replacement, so the engine only ever substitutes values it made safe for SQL string literals).
 */
export function renderStatement(
  statement: string,
  values: StatementValues,
  formatExpiration: (expiration: Date) => string,
): string {
  const map: Record<string, string | undefined> = {
    name: values.name,
    username: values.name,
    password: values.password,
    expiration: values.expiration ? formatExpiration(values.expiration) : undefined,
  };
  return statement.replace(/\{\{\s*(name|username|password|expiration)\s*\}\}/g, (whole, key: string) => {
    const value = map[key];
    return value === undefined ? whole : value;
  });
}

/** Vault's expiration format for SQL (Go's "2006-01-02 15:04:05-0700"), in UTC. */
export function sqlTimestamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getUTCFullYear()}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())} ` +
    `${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())}+0000`
  );
}

/**
 * Replaces `{{username}}` (or its synonym `{{name}}`, as Vault) and `{{password}}` in a connection URL with the given
 * (already encoded) values.
 */
export function renderConnectionUrl(url: string, username: string, password: string): string {
  return url
    .replace(/\{\{\s*(?:username|name)\s*\}\}/g, () => username)
    .replace(/\{\{\s*password\s*\}\}/g, () => password);
}
