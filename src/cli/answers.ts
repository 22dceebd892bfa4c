/*
 * The API answers the running command received, for `-format=json` / `-o vault-json`: Vault's CLI prints the API's
 * envelope (request_id, lease_id, data, auth …), so `jq .data.data.password` scripts written for `vault` need that
 * envelope, not this CLI's own JSON view. One process runs one command, so a module-level list is that command's.
 *
 * Not recorded: mount lookups (sys/internal/ui/mounts, the CLI's own plumbing) and requests sent with an explicit
 * token (logins: their answer carries the new token, which `login` saves instead of printing).
 */
import { secretJson } from './secret-output.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

export type Answer = { kind: 'body'; path: string; body: Body } | { kind: 'keys'; keys: string[] };

const answers: Answer[] = [];

export function recordAnswer(answer: Answer): void {
  if (answer.kind === 'body' && answer.path.startsWith('sys/internal/ui/mounts')) return;
  answers.push(answer);
}

export function clearAnswers(): void {
  answers.length = 0;
}

/**
 * What Vault would print for this command: the one answer's envelope, the keys of a LIST, or undefined when the
 * command made several requests (an import, a diff: no Vault equivalent) and its own JSON view is printed instead.
 * `null` means the answer had no body (204): Vault prints nothing then.
 */
export function vaultView(): { value: unknown } | undefined {
  if (answers.length !== 1) return undefined;
  const answer = answers[0]!;
  if (answer.kind === 'keys') return { value: answer.keys };
  const body = answer.body;
  if (body === null || body === undefined || body === '') return { value: null };
  if (typeof body !== 'object' || Array.isArray(body)) return { value: body };
  if (!('data' in body || 'auth' in body || 'wrap_info' in body || 'request_id' in body)) return { value: body };
  const envelope = secretJson(body);
  // A token lookup's `id` is the token itself: never printed (the table and this CLI's JSON drop it too).
  if (/^auth\/token\/lookup/.test(answer.path) && envelope.data && typeof envelope.data === 'object') {
    const data = { ...(envelope.data as Record<string, unknown>) };
    delete data.id;
    envelope.data = data;
  }
  return { value: envelope };
}
