/**
 * Regular expressions written in custom resources (dataFrom find and rewrite) run inside the operator, on
 * JavaScript's backtracking engine, which has no time limit: a pattern like `(a+)+$` can pin a CPU for minutes on a
 * short input, stalling every namespace's syncs. Anyone who may create an ExternalSecret must not be able to do
 * that, so patterns are bounded before they are compiled: a length cap, no backreferences, and no quantified group
 * that itself contains a quantifier (the shape behind exponential backtracking). Ordinary patterns
 * (`^db-.*`, `(foo|bar)-[0-9]+`, `^(.*)$`) are unaffected.
 */
export const MAX_USER_REGEX_LENGTH = 512;

export class UserRegexError extends Error {}

export function compileUserRegex(source: string, flags?: string): RegExp {
  if (source.length > MAX_USER_REGEX_LENGTH)
    throw new UserRegexError(`regular expression longer than ${MAX_USER_REGEX_LENGTH} characters`);
  const shape = riskyShape(source);
  if (shape) throw new UserRegexError(`regular expression rejected: ${shape}`);
  try {
    return new RegExp(source, flags);
  } catch {
    throw new UserRegexError('invalid regular expression');
  }
}

/** Why a pattern may backtrack exponentially, or undefined. A scan of the pattern's structure, not a full parser. */
export function riskyShape(source: string): string | undefined {
  const groups: Array<{ quantified: boolean }> = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next)) return 'backreferences are not allowed';
      if (!inClass && next === 'k' && source[i + 2] === '<') return 'backreferences are not allowed';
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
    } else if (c === '(') {
      groups.push({ quantified: false });
    } else if (c === ')') {
      const group = groups.pop();
      const next = source[i + 1];
      const repeated =
        next === '*' ||
        next === '+' ||
        (next === '{' &&
          /^\{\d*,\d*\}|^\{\d+\}/.test(source.slice(i + 1)) &&
          !/^\{[01]\}|^\{0,1\}/.test(source.slice(i + 1)));
      if (group?.quantified && repeated)
        return 'a repeated group contains a repetition (e.g. (a+)+), which can take exponential time';
      if (group?.quantified && groups.length > 0) groups[groups.length - 1]!.quantified = true;
    } else if (c === '*' || c === '+' || (c === '{' && /^\{\d+(,\d*)?\}/.test(source.slice(i)))) {
      if (groups.length > 0) groups[groups.length - 1]!.quantified = true;
    }
  }
  return undefined;
}
