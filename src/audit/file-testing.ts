import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from './types.js';

/** Tests of the file device: a temporary directory, a fresh path in a new subdirectory per call, and its records. */
export function auditFileFixture(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    dir,
    freshPath: () => join(dir, `sub-${++n}`, 'audit.log'),
    readRecords: (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as AuditRecord),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
