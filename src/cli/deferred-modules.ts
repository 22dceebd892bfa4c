import type * as CliProgress from 'cli-progress';
import type CliTable from 'cli-table3';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * Packages only some commands need, loaded on first use. Every `strongroom` invocation imports the whole command
 * tree to build its help, so a static import costs every command its load time: YAML alone took as long as Node's
 * own start-up. All three are CommonJS, so a synchronous require gives the same module an import would.
 */
const load = createRequire(import.meta.url);

export const yaml = (): typeof Yaml => load('yaml') as typeof Yaml;
export const cliTable = (): typeof CliTable => load('cli-table3') as typeof CliTable;
export const cliProgress = (): typeof CliProgress => load('cli-progress') as typeof CliProgress;
