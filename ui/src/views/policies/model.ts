/**
 * The policies view's pure parts: where a server error points in the text, and how an explanation reads. No DOM,
 * no requests, so they are unit-tested directly (test/ui/policies-model.test.ts).
 */

/** A problem the server found in a policy text: its message, and its line and column when it names them. */
export interface PolicyProblem {
  message: string;
  line?: number;
  column?: number;
}

/** Every policy refusal starts `line L, column C: ` (the server's one form); anything else has no position. */
const POSITION = /^line (\d+), column (\d+): /;

export function problemOf(message: string): PolicyProblem {
  const match = POSITION.exec(message);
  if (!match) return { message };
  return { message, line: Number(match[1]), column: Number(match[2]) };
}

/** The message without its position prefix (the editor shows the position on its own). */
export function problemText(problem: PolicyProblem): string {
  return problem.message.replace(POSITION, '');
}

/** The offset in `text` of a 1-based line and column (clamped to the text), for placing the caret there. */
export function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let current = 1; current < line; current++) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  const end = text.indexOf('\n', offset);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(offset + Math.max(column - 1, 0), lineEnd);
}

/** The 1-based line of an offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function lineCount(text: string): number {
  return lineAt(text, text.length);
}

/** Policy names as the server accepts them (it lower-cases them). */
export const POLICY_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function nameProblem(name: string): string | undefined {
  if (name === '') return 'Give the policy a name.';
  if (!POLICY_NAME.test(name)) return "Use 1 to 128 letters, digits, '_', '.' or '-'.";
  if (name.toLowerCase() === 'root') return 'The root policy cannot be changed.';
  return undefined;
}

/** One rule merged into the deciding pattern (sys/capabilities-explain). */
export interface RuleSource {
  /** Policy, pattern and position are absent for another token's rule in a policy the caller may not read. */
  policy?: string;
  pattern?: string;
  line?: number;
  column?: number;
  capabilities: string[];
  conditions: string[];
}

export interface PathExplanation {
  capabilities: string[];
  /** 'unexplained': the capabilities only (sys/capabilities-self), for a token that may not ask which rule decided. */
  decided_by: 'root' | 'rule' | 'deny' | 'no_rule' | 'unexplained';
  pattern: string | null;
  grants_nothing: boolean;
  rules: RuleSource[];
}

/** Another token's rule in a policy the caller may not read has no pattern in the answer. */
function ruleFor(pattern: string | null): string {
  return pattern === null ? 'A rule in a policy you may not read' : `The rule for ${pattern}`;
}

/** One sentence on how the answer was decided, for people. */
export function decisionSentence(explanation: PathExplanation): string {
  switch (explanation.decided_by) {
    case 'root':
      return 'The root policy grants everything on every path.';
    case 'no_rule':
      return 'No rule matches this path, so nothing is granted.';
    case 'unexplained':
      return 'Your token may not ask which rule decided (sys/capabilities-explain); these are the capabilities sys/capabilities-self reports for it.';
    case 'deny':
      return `${ruleFor(explanation.pattern)} denies, and a deny wins over every grant.`;
    case 'rule': {
      const merged =
        explanation.rules.length > 1 ? ` (${explanation.rules.length} rules with this pattern merged)` : '';
      if (explanation.capabilities.includes('deny'))
        return `${ruleFor(explanation.pattern)} matches but grants no capability${merged}.`;
      if (explanation.pattern === null)
        return `The most specific matching rule is in a policy you may not read${merged}.`;
      return `The most specific matching rule is ${explanation.pattern}${merged}.`;
    }
  }
}

const CONDITION_WORDS: Record<string, string> = {
  parameters: 'parameter constraints limit which request data it accepts',
  wrapping_ttl: 'it grants only to responses wrapped within its wrapping TTLs',
  mfa: 'it needs MFA, which Strongroom does not offer: requests get nothing',
  control_group: 'it needs a control-group approval, which Strongroom does not offer: requests get nothing',
};

export function conditionText(condition: string): string {
  return CONDITION_WORDS[condition] ?? condition;
}

/** Whether two capability answers are the same list (the server sorts both). */
export function sameCapabilities(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((c, i) => c === b[i]);
}
