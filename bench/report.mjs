// The targets of issue 20 as one table (measured value, ratio, limit, PASS/FAIL) and the read path's CPU per request
// by stage as a small SVG chart, both written next to the run's JSON results in bench/results/ (git-ignored).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A target row. `ratio` is the measured value over its yardstick (the bare route, etcd, or the limit itself for
 * absolute targets) and `limit` the ratio it must stay within: { at most | at least }. A part that did not run is
 * SKIP; a figure that has no limit (reported only) is INFO; a feature that does not exist yet is FAIL.
 */
export function target(id, name, { measured, ratio, limit, atLeast = false, verdict, note } = {}) {
  let decided = verdict;
  if (!decided) {
    if (ratio === undefined || ratio === null || !Number.isFinite(ratio)) decided = limit ? 'FAIL' : 'INFO';
    else if (limit === undefined) decided = 'INFO';
    else decided = (atLeast ? ratio >= limit : ratio <= limit) ? 'PASS' : 'FAIL';
  }
  return {
    id,
    name,
    measured: measured ?? 'n/a',
    ratio: ratio === undefined || ratio === null || !Number.isFinite(ratio) ? '—' : `${ratio.toFixed(2)}×`,
    limit: limit === undefined ? '—' : `${atLeast ? '≥' : '≤'} ${limit}×`,
    verdict: decided,
    note,
  };
}

export function skipped(id, name, why = 'not selected (--only)') {
  return { id, name, measured: why, ratio: '—', limit: '—', verdict: 'SKIP' };
}

export function formatTable(rows) {
  const headers = ['#', 'target', 'measured', 'ratio', 'limit', 'verdict'];
  const cells = rows.map((r) => [String(r.id), r.name, r.measured, r.ratio, r.limit, r.verdict]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) =>
    `| ${c.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join(' | ')} |`;
  const out = [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.id} ${r.name}: ${r.note}`);
  const counts = ['PASS', 'FAIL', 'INFO', 'SKIP']
    .map((v) => `${rows.filter((r) => r.verdict === v).length} ${v}`)
    .join(', ');
  return [...out, '', counts, ...(notes.length ? ['', 'Notes:', ...notes] : [])].join('\n');
}

/**
 * The read path's server CPU per request split into stages, each the difference between two measured targets:
 * the bare Fastify route (Node's HTTP + Fastify), Strongroom's HTTP floor (sys/health − bare), the KV read's own work
 * (token lookup, ACL, store, decrypt: unaudited read − sys/health) and the audit device (audited − unaudited read).
 */
export function readStages({ bare, floor, readUnaudited, read }) {
  const stages = [];
  const add = (name, from, to) => stages.push({ name, us: Math.max(0, to - from), raw: to - from });
  add('Node HTTP + Fastify (bare route)', 0, bare);
  if (floor !== null) add('Strongroom HTTP layer + router (sys/health − bare)', bare, floor);
  if (readUnaudited !== null)
    add('token, ACL, store, decrypt (unaudited read − sys/health)', floor ?? bare, readUnaudited);
  if (read !== null) add('audit device (audited read − unaudited read)', readUnaudited ?? floor ?? bare, read);
  return stages;
}

const COLOURS = ['#8da0cb', '#66c2a5', '#fc8d62', '#e78ac3'];

/** A horizontal stacked bar of the stages, with the target (3× the bare route) as a dashed line. */
export function stagesSvg(stages, { bareUs, measuredUs, title }) {
  const width = 760;
  const left = 20;
  const barTop = 68;
  const barHeight = 36;
  const total = stages.reduce((sum, s) => sum + s.us, 0);
  const goal = bareUs * 3;
  const scaleMax = Math.max(total, goal) * 1.08;
  const px = (us) => (us / scaleMax) * (width - 2 * left);
  const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [];
  let x = left;
  stages.forEach((stage, i) => {
    const w = px(stage.us);
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${barTop}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLOURS[i % COLOURS.length]}"/>`,
    );
    x += w;
  });
  const goalX = left + px(goal);
  parts.push(
    `<line x1="${goalX.toFixed(1)}" y1="${barTop - 8}" x2="${goalX.toFixed(1)}" y2="${barTop + barHeight + 8}" stroke="#c00" stroke-dasharray="4 3"/>`,
    `<text x="${goalX.toFixed(1)}" y="${barTop - 12}" font-size="11" text-anchor="middle" fill="#c00">target: 3× bare = ${Math.round(goal)} µs</text>`,
  );
  stages.forEach((stage, i) => {
    const y = barTop + barHeight + 30 + i * 20;
    const raw = stage.raw < 0 ? ` (measured ${Math.round(stage.raw)} µs, shown as 0)` : '';
    parts.push(
      `<rect x="${left}" y="${y - 11}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${left + 18}" y="${y}" font-size="12">${escape(stage.name)}: ${Math.round(stage.us)} µs${escape(raw)}</text>`,
    );
  });
  const height = barTop + barHeight + 30 + stages.length * 20 + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
    `<text x="${left}" y="38" font-size="11" fill="#555">server CPU per request (all threads, /proc): audited read ${Math.round(measuredUs ?? total)} µs; each stage is the difference between two measured targets</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Writes results.json, targets.txt and read-cpu-stages.svg into bench/results/<timestamp>/; returns that folder. */
export function writeResults(benchDir, { results, table, svg }) {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = join(benchDir, 'results', stamp);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'targets.txt'), `${table}\n`);
  if (svg) writeFileSync(join(dir, 'read-cpu-stages.svg'), svg);
  return dir;
}
