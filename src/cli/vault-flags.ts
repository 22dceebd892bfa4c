import { UsageError } from './errors.js';

/*
 * Vault's CLI spells every flag with one dash (`-field=password`, `-format=json`, `-address=…`, `-mount=secret`);
 * commander reads one dash as a cluster of one-letter flags. People and scripts coming from `vault` type the single
 * dash out of habit, so the argument vector is rewritten before commander sees it: `-name` and `-name=value`, where
 * the name has two letters or more, become `--name` and `--name=value`. One-letter flags (`-o json`, `-f`), a lone `-`
 * (stdin) and everything after `--` are left alone, as are `key=-value` pairs, which do not start with a dash.
 */

const SINGLE_DASH_LONG = /^-([a-z][a-z0-9]*(?:-[a-z0-9]+)+|[a-z][a-z0-9]+)(=.*)?$/s;

export function normalizeVaultArgv(args: readonly string[]): string[] {
  const out: string[] = [];
  let literal = false;
  for (const arg of args) {
    if (literal) {
      out.push(arg);
      continue;
    }
    if (arg === '--') literal = true;
    const m = SINGLE_DASH_LONG.exec(arg);
    out.push(m ? `--${m[1]}${m[2] ?? ''}` : arg);
  }
  return out;
}

/**
 * Vault's `-format` values for this CLI's `-o`: `-format=json` is Vault's JSON (the API envelope, so `jq .data.x`
 * scripts work), not this CLI's own JSON shape.
 */
export function formatFromVaultFlag(value: string): string {
  const lower = value.toLowerCase();
  return lower === 'json' ? 'vault-json' : lower;
}

/** The candidate nearest to `word` (edit distance at most 40% of its length), for "did you mean …?" hints. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length * 0.4)) ? best : undefined;
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair of letters is one typo, as commander counts it. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * "unknown option --feild — try --field" for commands that read Vault's flags themselves (login, lease, token, auth):
 * the nearest known flag when there is one, else the command's --help. Names the flag, never its value.
 */
export function unknownOption(arg: string, known: readonly string[], help: string): UsageError {
  const flag = arg.split('=')[0]!;
  const guess = nearest(flag.replace(/^-+/, ''), known);
  return new UsageError(`unknown option ${flag}`, guess ? `--${guess}` : help);
}
