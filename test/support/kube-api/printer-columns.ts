/**
 * A CRD's `additionalPrinterColumns`, evaluated as the apiextensions server's table convertor does for
 * `kubectl get` (`Accept: application/json;as=Table;...`): Name, then each column's JSONPath result; a `date` column
 * becomes an age ("5m"), `integer`/`number`/`boolean` keep their JSON type, a path that finds nothing is an empty cell.
 * The JSONPath subset is what CRDs use: `.a.b`, `[n]`, `[*]` and `[?(@.x.y=="v")]` filters.
 */
import type { Obj } from './registry.js';

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

type Step = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

/** Parses the subset; anything else throws, so a CRD with a path the double cannot follow is noticed. */
export function parseJsonPath(path: string): Step[] {
  const steps: Step[] = [];
  const pattern =
    /\.([A-Za-z0-9_$-]+)|\[(\d+)\]|\[\*\]|\[\?\(@((?:\.[A-Za-z0-9_$-]+)+)\s*==\s*(?:"([^"]*)"|'([^']*)')\)\]/y;
  let position = 0;
  while (position < path.length) {
    pattern.lastIndex = position;
    const m = pattern.exec(path);
    if (!m) throw new Error(`kube-api double: unsupported JSONPath ${path} at ${position}`);
    if (m[1] !== undefined) steps.push({ field: m[1] });
    else if (m[2] !== undefined) steps.push({ index: Number(m[2]) });
    else if (m[3] !== undefined) steps.push({ filter: { path: m[3].slice(1).split('.'), value: m[4] ?? m[5] ?? '' } });
    else steps.push({ all: true });
    position = pattern.lastIndex;
  }
  return steps;
}

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function evaluateJsonPath(object: unknown, path: string): unknown[] {
  let current: unknown[] = [object];
  for (const step of parseJsonPath(path)) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (isObject(value) && value[step.field] !== undefined) next.push(value[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...(value as unknown[]));
      } else if (Array.isArray(value)) {
        for (const item of value) {
          const found = step.filter.path.reduce<unknown>((v, key) => (isObject(v) ? v[key] : undefined), item);
          if (found !== undefined && String(found) === step.filter.value) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

export function printerCell(object: Obj, column: PrinterColumn, now: number): unknown {
  const [value] = evaluateJsonPath(object, column.jsonPath);
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case 'date': {
      const time = typeof value === 'string' ? Date.parse(value) : NaN;
      return Number.isNaN(time) ? null : humanAge(now - time);
    }
    case 'integer':
    case 'number':
    case 'boolean':
      return value;
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
