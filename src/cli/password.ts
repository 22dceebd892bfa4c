import type { Command } from 'commander';
import type { Client } from './client.js';
import { act, group, leaf, oneLineErrors } from './command.js';
import { CliError, UsageError } from './errors.js';
import { emit, rawField } from './output.js';

/*
 * `strongroom password generate [--policy NAME]`: a password from a password policy (sys/policies/password/<name>/
 * generate), or from the built-in default (Vault's: 20 characters, a lower, an upper, a digit and a '-') served at
 * sys/policies/password/default/generate. Table output is the bare password (like --field); -o json prints
 * {"password": "..."}.
 *
 * Also the `--generate KEY[=POLICY]` flag of `kv put` and `kv patch`, which fills KEY with a generated password, so
 * the value never passes through the shell, its history or a file.
 */
export function registerPassword(program: Command): void {
  const password = group(program, 'password', 'Generate passwords from password policies (sys/policies/password)');
  leaf(password, 'generate', 'Generate a password from a password policy (default: the built-in default policy)', [
    'strongroom password generate',
    'strongroom password generate --policy=web',
    'strongroom write sys/policies/password/web policy=@web.hcl   # define one first',
  ])
    .option('--policy <name>', 'the password policy (default: the built-in default policy)')
    .action(
      act(async (ctx) => {
        const value = await generatePassword(ctx.client(), ctx.opts.policy as string | undefined);
        if (ctx.format === 'table') rawField(value);
        else emit(ctx.format, { password: value }, () => value);
      }),
    );
  oneLineErrors(password);
}

const POLICY_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export async function generatePassword(client: Client, policy: string | undefined): Promise<string> {
  const name = policy ?? 'default';
  if (!POLICY_NAME.test(name))
    throw new UsageError(`"${name}" is not a password policy name`, "letters, digits, '_', '.' and '-'");
  const body = await client.read(`sys/policies/password/${name}/generate`);
  const value = body?.data?.password;
  if (typeof value !== 'string' || value === '')
    throw new CliError('the server answered without a password', "'strongroom status' to check the server");
  return value;
}

/** `--generate KEY[=POLICY]` values → {key: policy or undefined}; a key given twice is a usage error. */
export function parseGenerateSpecs(specs: readonly string[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq < 0 ? spec : spec.slice(0, eq);
    const policy = eq < 0 ? undefined : spec.slice(eq + 1);
    if (key === '') throw new UsageError('--generate needs a key', '--generate=password or --generate=password=POLICY');
    if (policy === '') throw new UsageError(`--generate ${key}= names no policy`, `--generate=${key}=POLICY`);
    if (out.has(key)) throw new UsageError(`--generate names "${key}" twice`, 'one --generate per key');
    out.set(key, policy);
  }
  return out;
}

/** Generates each `--generate` key's value; refuses a key also given as key=value. */
export async function generatedValues(
  client: Client,
  specs: readonly string[],
  given: Readonly<Record<string, unknown>>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [key, policy] of parseGenerateSpecs(specs)) {
    if (key in given) throw new UsageError(`"${key}" is given both as a value and with --generate`, 'one of the two');
    out[key] = await generatePassword(client, policy);
  }
  return out;
}
