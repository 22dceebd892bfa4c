import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatPolicyText } from '../policy/fmt.js';
import { isStrongroomError } from '../shared/errors.js';
import { act, group, leaf, oneLineErrors } from './command.js';
import { UsageError } from './errors.js';
import { readFileArg } from './input.js';
import { colors, emit, gridTable } from './output.js';

/*
 * `strongroom policy …` over sys/policies/acl.
 *
 * Script output shapes:
 *   list          ["default", "root", ...]
 *   read          {name, policy}   (table output prints the policy text itself, ready to edit and write back)
 *   write, delete {name}
 */
export function registerPolicy(program: Command): void {
  const policy = group(program, 'policy', 'Write, read, list, delete and format ACL policies (HCL or JSON)');

  leaf(policy, 'write', 'Create or replace a policy from a file or stdin', [
    'strongroom policy write app-read app-read.hcl',
    `echo 'path "secret/data/app/*" { capabilities = ["read"] }' | strongroom policy write app-read -`,
  ])
    .argument('<name>', 'policy name')
    .argument('<file>', 'HCL or JSON policy file; - reads stdin')
    .action(
      act(async (ctx, [name, file]) => {
        const text = await readFileArg(file as string, 'the policy file');
        if (text.trim() === '')
          throw new UsageError(
            'the policy is empty',
            'a file with at least one path "…" { capabilities = [...] } block',
          );
        await ctx.client().request('PUT', `sys/policies/acl/${encodeName(name as string)}`, { body: { policy: text } });
        emit(ctx.format, { name }, () => `${colors.green('Success!')} uploaded policy: ${name}`);
      }),
    );

  leaf(policy, 'read', 'Print a policy', ['strongroom policy read app-read', 'strongroom policy read -o json app-read'])
    .argument('<name>', 'policy name')
    .action(
      act(async (ctx, [name]) => {
        const data = (await ctx.client().read(`sys/policies/acl/${encodeName(name as string)}`))?.data ?? {};
        emit(ctx.format, { name: data.name, policy: data.policy }, () => String(data.policy ?? '').replace(/\n$/, ''));
      }),
    );

  leaf(policy, 'list', 'List policy names', ['strongroom policy list']).action(
    act(async (ctx) => {
      const keys = await ctx.client().list('sys/policies/acl');
      emit(ctx.format, keys, () =>
        gridTable(
          ['Policies'],
          keys.map((k) => [k]),
        ),
      );
    }),
  );

  leaf(policy, 'delete', 'Delete a policy (tokens that carry it lose its grants at once)', [
    'strongroom policy delete app-read',
  ])
    .argument('<name>', 'policy name')
    .action(
      act(async (ctx, [name]) => {
        await ctx.client().delete(`sys/policies/acl/${encodeName(name as string)}`);
        emit(ctx.format, { name }, () => `${colors.green('Success!')} deleted policy: ${name}`);
      }),
    );

  leaf(
    policy,
    'fmt',
    'Format a policy file in place (canonical HCL); checks syntax locally, no server needed',
    ['strongroom policy fmt app-read.hcl'],
    {
      connect: false,
      output: false,
    },
  )
    .argument('<file>', 'policy file')
    .option('--check', 'do not write; exit 1 when the file is not formatted')
    .action(
      act(async (ctx, [file]) => {
        const path = file as string;
        const text = await readFileArg(path, 'the policy file');
        let formatted: string;
        try {
          formatted = formatPolicyText(text);
        } catch (err) {
          if (isStrongroomError(err)) throw new UsageError(`${path}: ${err.message}`, 'fixing the policy syntax');
          throw err;
        }
        if (ctx.opts.check) {
          if (formatted !== text) {
            process.stderr.write(`${path} is not formatted\n`);
            process.exitCode = 1;
          }
          return;
        }
        if (path === '-') process.stdout.write(formatted);
        else {
          if (formatted !== text) writeFileSync(path, formatted);
          process.stdout.write(`${colors.green('Success!')} formatted policy: ${path}\n`);
        }
      }),
    );

  oneLineErrors(policy);
}

function encodeName(name: string): string {
  if (!/^[A-Za-z0-9_.@-]+$/.test(name))
    throw new UsageError(`"${name}" is not a valid policy name`, 'letters, digits, _ . @ -');
  return name;
}
