import { yaml } from './deferred-modules.js';
import { UsageError } from './errors.js';

/** One secret to import: a path (relative to --prefix, or a full path) and its key/value data. */
export interface ImportedSecret {
  path: string;
  data: Record<string, unknown>;
  /** Where it came from, for messages ("app.yaml document 2"). */
  source: string;
}

export type ImportFormat = 'env' | 'json' | 'yaml';

export function formatOf(file: string, explicit?: string): ImportFormat {
  if (explicit) {
    if (explicit === 'env' || explicit === 'json' || explicit === 'yaml') return explicit;
    throw new UsageError(`unknown format "${explicit}"`, '--format=env, json or yaml');
  }
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.env') || lower.split('/').pop()!.startsWith('.env')) return 'env';
  throw new UsageError(`cannot tell the format of ${file} from its name`, '--format=env, json or yaml');
}

/** `app.env` → 'app', `db.yaml` → 'db'; '' for `.env` (the caller then needs --name). */
export function baseName(file: string): string {
  const name = file.split(/[\\/]/).pop() ?? '';
  if (name.startsWith('.env')) return '';
  return name.replace(/\.(env|json|ya?ml)$/i, '');
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Parses a dotenv file: `KEY=value`, `export KEY=value`, `# comments`, single quotes (literal), double quotes (with
 * \n \r \t \" \\ escapes, may span lines), unquoted values trimmed with ` #` comments cut. Errors name the line,
 * never the value.
 */
export function parseDotenv(text: string, source = '.env'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^\s*(?:export\s+)?([^=\s]+)\s*=\s?(.*)$/s.exec(line);
    if (!m || !ENV_KEY.test(m[1]!))
      throw new UsageError(`${source} line ${lineNo} is not KEY=VALUE`, 'one KEY=value per line; # starts a comment');
    const key = m[1]!;
    let rest = m[2]!.replace(/^\s+/, '');
    let value: string;
    if (rest.startsWith('"')) {
      // A double-quoted value ends at the first unescaped quote, possibly lines later.
      let body = rest.slice(1);
      let end = closingQuote(body);
      while (end < 0 && i + 1 < lines.length) {
        i += 1;
        body += `\n${lines[i]}`;
        end = closingQuote(body);
      }
      if (end < 0)
        throw new UsageError(
          `${source} line ${lineNo}: the double-quoted value of ${key} is never closed`,
          'closing the quote',
        );
      assertOnlyComment(body.slice(end + 1), source, lineNo, key);
      value = unescapeDouble(body.slice(0, end));
    } else if (rest.startsWith("'")) {
      const end = rest.indexOf("'", 1);
      if (end < 0)
        throw new UsageError(
          `${source} line ${lineNo}: the single-quoted value of ${key} is never closed`,
          'closing the quote',
        );
      assertOnlyComment(rest.slice(end + 1), source, lineNo, key);
      value = rest.slice(1, end);
    } else {
      const hash = rest.search(/\s#/);
      if (hash >= 0) rest = rest.slice(0, hash);
      value = rest.trim();
    }
    out[key] = value;
  }
  return out;
}

function closingQuote(body: string): number {
  for (let j = 0; j < body.length; j++) {
    if (body[j] === '\\') j++;
    else if (body[j] === '"') return j;
  }
  return -1;
}

function assertOnlyComment(after: string, source: string, lineNo: number, key: string): void {
  const t = after.trim();
  if (t !== '' && !t.startsWith('#'))
    throw new UsageError(
      `${source} line ${lineNo}: unexpected text after the quoted value of ${key}`,
      'quoting the whole value',
    );
}

function unescapeDouble(s: string): string {
  return s.replace(
    /\\(.)/gs,
    (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' })[c] ?? `\\${c}`,
  );
}

/** Serializes data as dotenv, quoting only when needed, so `parseDotenv(toDotenv(x))` gives back x. */
export function toDotenv(data: Record<string, unknown>, header?: string): string {
  const lines: string[] = header ? [`# ${header}`] : [];
  for (const [key, raw] of Object.entries(data)) {
    if (!ENV_KEY.test(key))
      throw new UsageError(`key "${key}" cannot be written as an environment variable name`, '--format=json or yaml');
    const value = typeof raw === 'string' ? raw : JSON.stringify(raw);
    const plain = /^[A-Za-z0-9_./:@+,-]*$/.test(value);
    lines.push(
      `${key}=${
        plain
          ? value
          : `"${value
              .replace(/[\\"$]/g, (c) => `\\${c}`)
              .replace(/\n/g, '\\n')
              .replace(/\r/g, '\\r')
              .replace(/\t/g, '\\t')}"`
      }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

/**
 * JSON and YAML documents hold either
 *   - a Kubernetes Secret manifest (kind: Secret; base64 `data` decoded, `stringData` over it; name from metadata),
 *   - a List of them (kind: List, items: [...]),
 *   - a map of path → {key: value} (what `strongroom export` writes), or
 *   - a flat map {key: scalar} — one secret named after the file.
 */
/**
 * Where JSON.parse gave up, as " (line L, column C)", or nothing. Never its message: V8 quotes the input there
 * (`Unexpected token 'h', "hunter2"... is not valid JSON`), and the input is the secret being imported.
 */
function jsonErrorPlace(text: string, err: unknown): string {
  const m = / at position (\d+)/.exec(err instanceof Error ? err.message : '');
  if (!m) return '';
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  return ` (line ${line}, column ${before.length - before.lastIndexOf('\n')})`;
}

/** `skip` hears of each document that is not a Secret (a ConfigMap in the same manifest): it is left out. */
export function parseDocuments(
  text: string,
  format: 'json' | 'yaml',
  file: string,
  skip: (what: string) => void = () => {},
): ImportedSecret[] {
  let docs: Doc[];
  if (format === 'json') {
    try {
      docs = [JSON.parse(text)];
    } catch (err) {
      throw new UsageError(
        `${file} is not valid JSON${jsonErrorPlace(text, err)}`,
        'checking the file with a JSON linter',
      );
    }
  } else {
    const parsed = yaml().parseAllDocuments(text);
    docs = [];
    for (const [i, doc] of parsed.entries()) {
      if (doc.errors.length > 0) {
        const pos = doc.errors[0]!.linePos?.[0];
        throw new UsageError(
          `${file} document ${i + 1} is not valid YAML${pos ? ` (line ${pos.line})` : ''}`,
          'checking the indentation and quoting',
        );
      }
      const value = doc.toJS();
      if (value !== null && value !== undefined) docs.push(value);
    }
  }
  const out: ImportedSecret[] = [];
  docs.forEach((doc, index) =>
    out.push(...fromDocument(doc, `${file}${docs.length > 1 ? ` document ${index + 1}` : ''}`, file, skip)),
  );
  return out;
}

function fromDocument(doc: Doc, source: string, file: string, skip: (what: string) => void): ImportedSecret[] {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(
      `${source} is not a map`,
      'a Kubernetes Secret, a map of path → {key: value}, or a map of key: value',
    );
  }
  if (doc.kind === 'List' && Array.isArray(doc.items)) {
    return doc.items.flatMap((item: Doc, i: number) => fromDocument(item, `${source} item ${i + 1}`, file, skip));
  }
  if (typeof doc.kind === 'string' || typeof doc.apiVersion === 'string') {
    // A manifest bundle mixes kinds (a Deployment, a ConfigMap and its Secret): the rest is not an error.
    if (doc.kind !== 'Secret') {
      const name = typeof doc.metadata?.name === 'string' ? ` ${doc.metadata.name}` : '';
      skip(`${source} (${String(doc.kind ?? 'no kind')}${name}): not a Secret`);
      return [];
    }
    return [fromSecretManifest(doc, source)];
  }
  const values = Object.values(doc);
  if (values.length > 0 && values.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
    return Object.entries(doc as Record<string, Record<string, unknown>>).map(([path, data]) => ({
      path,
      data,
      source,
    }));
  }
  const name = baseName(file);
  if (!name)
    throw new UsageError(`${source} holds a single secret but its file name gives no secret name`, '--name=NAME');
  return [{ path: name, data: doc as Record<string, unknown>, source }];
}

function fromSecretManifest(doc: Doc, source: string): ImportedSecret {
  const name = doc.metadata?.name;
  if (typeof name !== 'string' || name === '')
    throw new UsageError(`${source}: the Secret has no metadata.name`, 'adding metadata.name');
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((doc.data ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value.replace(/\s+/g, ''))) {
      throw new UsageError(
        `${source}: data.${key} of Secret ${name} is not base64`,
        'stringData for plain text values',
      );
    }
    data[key] = Buffer.from(value.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  // As the API server does: stringData is merged over data, winning on conflicts.
  for (const [key, value] of Object.entries((doc.stringData ?? {}) as Record<string, unknown>))
    data[key] = value === null ? '' : String(value);
  // Kubernetes names are unique per namespace only: the namespace is a folder, so `a` in two namespaces stays two.
  const namespace = doc.metadata?.namespace;
  if (namespace !== undefined && (typeof namespace !== 'string' || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(namespace)))
    throw new UsageError(`${source}: metadata.namespace of Secret ${name} is not a namespace name`, 'a DNS label');
  const path = namespace ? `${namespace}/${name}` : name;
  return { path, data, source: `${source} (Secret ${path})` };
}
