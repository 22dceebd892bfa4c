import { spawn } from 'node:child_process';

/** The commands of every ```sh block between `<!-- <marker>:start -->` and `<!-- <marker>:end -->`, one per line. */
export function readmeCommands(readme: string, marker: string): string[] {
  const start = readme.indexOf(`<!-- ${marker}:start -->`);
  const end = readme.indexOf(`<!-- ${marker}:end -->`);
  if (start < 0 || end < start) throw new Error(`README.md has no ${marker} markers`);
  const commands: string[] = [];
  for (const block of readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const command = line.trim();
      if (command !== '' && !command.startsWith('#')) commands.push(command);
    }
  }
  return commands;
}

export interface Step {
  command: string;
  code: number;
  output: string;
}

/** Runs the commands in order in one bash session (variables and background jobs carry over), each line's output and exit code kept. */
export function runScript(
  commands: string[],
  options: { env: Record<string, string>; cwd: string; stdin?: string; timeoutMs: number },
): Promise<Step[]> {
  const script = commands
    .map((command, i) => `printf '\\n::step ${i}::\\n'\n${command} 2>&1\nprintf '\\n::rc ${i} %s::\\n' "$?"`)
    .join('\n');
  return new Promise((resolve, reject) => {
    // Its own process group, so what a step left running in the background (the quickstart's operator) is stopped with
    // the session even when a step failed before the line that stops it, or the session timed out.
    const proc = spawn('bash', ['-c', script], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (proc.pid !== undefined) process.kill(-proc.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    const timer = setTimeout(() => killGroup('SIGKILL'), options.timeoutMs);
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.on('error', reject);
    proc.on('close', () => {
      clearTimeout(timer);
      killGroup('SIGTERM');
      resolve(
        commands.map((command, i) => {
          const m = new RegExp(`::step ${i}::\\n([\\s\\S]*?)\\n::rc ${i} (\\d+)::`).exec(out);
          return {
            command,
            code: m ? Number(m[2]) : -1,
            output: m ? m[1]! : `(no output captured)\n${out.slice(-2000)}`,
          };
        }),
      );
    });
    proc.stdin.end(options.stdin ?? '');
  });
}
