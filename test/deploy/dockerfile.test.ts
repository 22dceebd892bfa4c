/**
 * The Dockerfile, checked without a Docker engine: its stages, what each COPY takes (files that exist and that
 * .dockerignore lets into the context, or paths an earlier stage produces), a numeric non-root USER that owns none
 * of the image's files, an entrypoint that the build produces, production dependencies that cover every package the
 * compiled code imports, and one image name shared by the Dockerfile, the README's build command and deploy/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Dockerfile syntax: comments, `\` continuations, one instruction per logical line, stages from FROM to FROM. */
function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, rest] = /^(\S+)\s*(.*)$/.exec(line)!;
    const instruction = { op: op!.toUpperCase(), args: rest!.replace(/\s+/g, ' ') };
    if (instruction.op === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args)!;
      stages.push({ name: name ?? String(stages.length), from: from!, instructions: [] });
    } else if (stages.length === 0 && instruction.op === 'ARG') {
      const [key, value] = instruction.args.split('=');
      args.set(key!, value ?? '');
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { args, stages };
}

/** .dockerignore: the last matching pattern decides; `!` re-includes. Enough glob for the patterns we write. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/[.+^${}()|[\]]/g, '\\$&')
          .replace(/\*\*\//g, '(?:.*/)?')
          .replace(/\*\*/g, '.*')
          .replace(/\*/g, '[^/]*') +
        '(?:/.*)?$',
    );
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (toRegex(pattern).test(path)) ignored = !negated;
  }
  return ignored;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

const { args, stages } = parseDockerfile(read('Dockerfile'));
const ignore = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const runtime = stages.at(-1)!;
const stage = (name: string) => stages.find((s) => s.name === name)!;
const all = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const copies = (s: Stage) =>
  all(s, 'COPY').map((i) => {
    const from = /--from=(\S+)/.exec(i.args)?.[1];
    const parts = i.args.replace(/--\S+/g, '').trim().split(' ');
    return { from, sources: parts.slice(0, -1), dest: parts.at(-1)!, chown: /--chown/.test(i.args) };
  });

describe('Dockerfile', () => {
  it('has three stages: build (all dependencies), deps (production only), and a slim runtime last', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    const node = args.get('NODE_VERSION')!;
    // package.json asks for Node >= 20.19; every 20.x tag after that and later majors qualify, and the deps stage
    // must use the runtime's Node major (better-sqlite3's native addon is built for one ABI).
    expect(Number(node)).toBeGreaterThanOrEqual(20);
    expect(stage('deps').from).toBe('node:${NODE_VERSION}-bookworm');
    expect(runtime.from).toBe('node:${NODE_VERSION}-bookworm-slim');
    expect(all(stage('build'), 'RUN').map((r) => r.args)).toEqual(['npm ci --ignore-scripts', 'npm run build']);
    expect(all(stage('deps'), 'RUN')[0]!.args).toMatch(
      /^npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3/,
    );
    // The runtime installs nothing itself: its dependencies are the deps stage's, its code the build stage's.
    expect(copies(runtime).find((c) => c.dest === './node_modules')).toMatchObject({
      from: 'deps',
      sources: ['/src/node_modules'],
    });
    expect(all(runtime, 'RUN').every((r) => !/npm (ci|install)/.test(r.args))).toBe(true);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const local = stages.flatMap((s) => copies(s).filter((c) => !c.from));
    expect(local.length).toBeGreaterThan(5);
    for (const { sources } of local)
      for (const source of sources) {
        expect(existsSync(join(ROOT, source)), source).toBe(true);
        const files = statSync(join(ROOT, source)).isDirectory() ? filesUnder(source) : [source];
        const sent = files.filter((f) => !dockerIgnored(ignore, f));
        expect(sent.length, `${source} reaches the build context`).toBeGreaterThan(0);
      }
    // What the build compiles is in the context: every source file tsconfig.build.json includes.
    for (const file of [...filesUnder('src'), ...filesUnder('test/support')].filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    ))
      expect(dockerIgnored(ignore, file), file).toBe(false);
    // Local state never does: dev stores, kubeconfigs, node_modules, build output, git history.
    for (const path of ['.strongroom/dev.key', 'kubeconfig', 'node_modules/x/index.js', 'dist/src/a.js', '.git/HEAD'])
      expect(dockerIgnored(ignore, path), path).toBe(true);
  });

  it('copies from earlier stages only what they produce, and the entrypoint is the built CLI', () => {
    const tsconfig = JSON.parse(read('tsconfig.build.json'));
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: '.', outDir: 'dist' });
    const produced = new Set(['/src/node_modules', '/src/dist/src', '/src/dist/ui']);
    for (const s of stages)
      for (const c of copies(s).filter((c) => c.from)) {
        expect(
          stages.findIndex((x) => x.name === c.from),
          `${c.from} is an earlier stage`,
        ).toBeLessThan(stages.indexOf(s));
        for (const source of c.sources) expect(produced.has(source), source).toBe(true);
      }
    // dist/ui is vite's outDir; dist/src/cli/main.js is what bin/strongroom imports.
    expect(read('ui/vite.config.ts')).toMatch(/new URL\('\.\.\/dist\/ui'/);
    expect(read('bin/strongroom')).toContain("import('../dist/src/cli/main.js')");
    expect(existsSync(join(ROOT, 'src/cli/main.ts'))).toBe(true);
    const entrypoint = JSON.parse(all(runtime, 'ENTRYPOINT')[0]!.args) as string[];
    expect(entrypoint).toEqual(['node', '/app/bin/strongroom']);
    expect(all(runtime, 'WORKDIR').at(-1)!.args).toBe('/app');
    const runtimeFiles = copies(runtime).map((c) => c.dest.replace(/^\.\/(?=.)/, ''));
    // bin/, the compiled code, the .proto files the gRPC plugins load, and package.json ("type": "module").
    expect(runtimeFiles).toEqual(expect.arrayContaining(['bin', 'dist/src', 'dist/ui', 'proto', 'node_modules', './']));
    expect(JSON.parse(read('package.json')).type).toBe('module');
  });

  it('runs as a numeric non-root user that owns nothing in the image (a read-only root filesystem changes nothing)', () => {
    const users = all(runtime, 'USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.args.split(':').map(Number);
    expect(uid).toBe(65532);
    expect(gid).toBe(65532);
    // USER comes after every RUN and COPY: all files were written by root at build time, none are the user's.
    const index = runtime.instructions.indexOf(users[0]!);
    expect(runtime.instructions.slice(index + 1).every((i) => !['RUN', 'COPY', 'ADD'].includes(i.op))).toBe(true);
    expect(copies(runtime).some((c) => c.chown)).toBe(false);
    expect(all(runtime, 'VOLUME')).toEqual([]);
    expect(all(runtime, 'HEALTHCHECK')).toEqual([]);
    // The same uid as every pod that does not need root for a host socket (deploy/).
    for (const file of ['deploy/server/base/deployment.yaml', 'deploy/operator/deployment.yaml'])
      expect(read(file)).toMatch(/runAsUser: 65532/);
  });

  it('production dependencies cover every package the code the CLI can load imports', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const missing = new Set<string>();
    // Everything reachable from the entry point (static and dynamic imports) and the audit worker thread: test
    // helpers compiled beside the code (src/**/*-testing.ts) import vitest but no command loads them.
    const queue = ['src/cli/main.ts', 'src/audit/audit-worker.ts'];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = readFileSync(join(ROOT, file), 'utf8');
      // Value imports only: `import type` and `export type` vanish at compile time.
      const specifiers = [
        ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
        ...text.matchAll(/\b(?:import|require|load)\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]!);
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) {
          const base = join(dirname(file), specifier).replace(/\.js$/, '');
          const found = ['.ts', '.tsx', '/index.ts'].map((ext) => base + ext).find((f) => existsSync(join(ROOT, f)));
          expect(found, `${specifier} imported by ${file}`).toBeDefined();
          queue.push(found!);
          continue;
        }
        if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!pkg.dependencies[name]) missing.add(`${name} (${file})`);
      }
    }
    expect(seen.size).toBeGreaterThan(100);
    expect([...missing]).toEqual([]);
  });

  it('is the image deploy/ runs, under the name the README builds', () => {
    const header = read('Dockerfile').match(/docker build -t (\S+) \./)![1]!;
    const readme = [...read('README.md').matchAll(/docker build -t (\S+) \./g)].map((m) => m[1]);
    expect(readme.length).toBeGreaterThan(0);
    expect(new Set(readme)).toEqual(new Set([header]));
    const version = JSON.parse(read('package.json')).version as string;
    expect(header).toBe(`ghcr.io/strongroom/strongroom:${version}`);
    const images = filesUnder('deploy')
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => [...read(f).matchAll(/^\s*image:\s*(\S+)/gm)].map((m) => m[1]));
    expect(images.length).toBeGreaterThanOrEqual(4);
    expect(new Set(images)).toEqual(new Set([header]));
  });
});
