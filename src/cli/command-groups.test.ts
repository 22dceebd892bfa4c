import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, groupsFor } from './command-groups.js';
import { commandTree } from './completion.js';
import { buildFullProgram, buildProgram } from './main.js';

/** A command's tree as `strongroom completion` sees it (subcommands and flags), plus each command's help text. */
function describeTree(program: Command, name: string): Record<string, unknown> {
  const command = program.commands.find((c) => c.name() === name);
  if (!command) return {};
  const help: Record<string, string> = {};
  const visit = (c: Command, path: string) => {
    help[path] = c.helpInformation();
    for (const sub of c.commands) visit(sub, `${path} ${sub.name()}`);
  };
  visit(command, name);
  const tree = [...commandTree(program)].filter(([path]) => path === name || path.startsWith(`${name} `));
  return { tree, help };
}

describe('command groups: a command line loads only the files its command needs', () => {
  it('lists exactly the top-level commands each file registers', async () => {
    for (const group of COMMAND_GROUPS) {
      const program = new Command();
      program.enablePositionalOptions();
      (await group.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual([...group.names]);
    }
  });

  it('builds every command exactly as the whole program does (flags, subcommands, help)', async () => {
    const full = await buildFullProgram();
    const names = full.commands.map((c) => c.name());
    expect(new Set(names)).toEqual(new Set(COMMAND_GROUPS.flatMap((g) => g.names)));
    for (const name of names) {
      const alone = await buildProgram([name, 'whatever', '--flag']);
      const loaded = alone.commands.map((c) => c.name());
      expect(loaded).toContain(name);
      // Only the file(s) that register `name` were loaded (completion prints the whole tree, so it loads all).
      if (name !== 'completion') expect(loaded.length).toBeLessThan(names.length);
      expect(describeTree(alone, name)).toEqual(describeTree(full, name));
    }
  });

  it('loads one group for a known command, past the flags before it', () => {
    expect(groupsFor(['kv', 'get', '--field=password', 'secret/app']).flatMap((g) => g.names)).toEqual(['kv']);
    expect(groupsFor(['--no-color', 'unwrap']).flatMap((g) => g.names)).toEqual(['unwrap']);
    // Both files that add to `operator`, in the order the full program registers them.
    expect(groupsFor(['operator', 'unseal']).map((g) => g.names)).toEqual([['operator'], ['operator']]);
  });

  it('loads everything for help, no command, a misspelt command and completion', () => {
    for (const words of [[], ['--help'], ['help', 'kv'], ['kvv', 'get'], ['completion', 'bash'], ['--version']])
      expect(groupsFor(words)).toBe(COMMAND_GROUPS);
  });
});
