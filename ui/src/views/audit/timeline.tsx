import { useId } from 'react';
import type { Bucket } from './model.js';

const WIDTH = 760;
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 36, left: 44 };

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
const when = (ms: number) => timeFormat.format(new Date(ms));

/** Whole-number gridlines: zero, the top, and halfway when that is a whole number of its own. */
function ticksOf(max: number): number[] {
  const half = Math.floor(max / 2);
  return [...new Set([0, half, max])];
}

/**
 * Reads and writes over time, as bars per time bucket: a hand-drawn SVG (no chart library). Screen readers get the
 * chart's title and a one-sentence description; the same numbers are in a table just below (a disclosure).
 */
export function Timeline({ buckets, subject }: { buckets: Bucket[]; subject: string }) {
  const id = useId();
  const reads = buckets.reduce((n, b) => n + b.reads, 0);
  const writes = buckets.reduce((n, b) => n + b.writes, 0);
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.reads, b.writes)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, buckets.length);
  const bar = Math.max(1, slot / 2 - 1);
  const y = (n: number) => PAD.top + plotH - (n / max) * plotH;
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const busiest = buckets.reduce<Bucket | undefined>(
    (best, b) => (b.reads + b.writes > (best ? best.reads + best.writes : 0) ? b : best),
    undefined,
  );
  const title = `Reads and writes of ${subject} over time`;
  const description =
    first && last
      ? `${reads} reads and ${writes} writes from ${when(first.start)} to ${when(last.end)}` +
        (busiest
          ? `; the busiest period starts ${when(busiest.start)} (${busiest.reads + busiest.writes} requests).`
          : '.')
      : 'No time range.';

  return (
    <figure className="audit-timeline">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        className="audit-timeline-svg"
      >
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        {ticksOf(max).map((n) => (
          <g key={n}>
            <line
              x1={PAD.left}
              x2={WIDTH - PAD.right}
              y1={y(n)}
              y2={y(n)}
              className={n === 0 ? 'tl-axis' : 'tl-grid'}
            />
            <text x={PAD.left - 6} y={y(n) + 4} className="tl-label" textAnchor="end">
              {n}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          const x = PAD.left + i * slot + 1;
          return (
            <g key={b.start}>
              {b.reads > 0 ? (
                <rect x={x} y={y(b.reads)} width={bar} height={y(0) - y(b.reads)} className="tl-read">
                  <title>{`${when(b.start)}: ${b.reads} reads`}</title>
                </rect>
              ) : null}
              {b.writes > 0 ? (
                <rect x={x + bar} y={y(b.writes)} width={bar} height={y(0) - y(b.writes)} className="tl-write">
                  <title>{`${when(b.start)}: ${b.writes} writes`}</title>
                </rect>
              ) : null}
            </g>
          );
        })}
        {first && last ? (
          <>
            <text x={PAD.left} y={HEIGHT - 14} className="tl-label" textAnchor="start">
              {when(first.start)}
            </text>
            <text x={WIDTH - PAD.right} y={HEIGHT - 14} className="tl-label" textAnchor="end">
              {when(last.end)}
            </text>
          </>
        ) : null}
      </svg>
      <figcaption className="audit-legend">
        <span>
          <span className="tl-swatch tl-read" aria-hidden="true" /> Reads (read, list): {reads}
        </span>
        <span>
          <span className="tl-swatch tl-write" aria-hidden="true" /> Writes (create, update, patch, delete): {writes}
        </span>
      </figcaption>
      <details className="audit-chart-data">
        <summary>Chart data as a table</summary>
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">{title}, per period</caption>
            <thead>
              <tr>
                <th scope="col">Period from</th>
                <th scope="col">to</th>
                <th scope="col" className="num">
                  Reads
                </th>
                <th scope="col" className="num">
                  Writes
                </th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.start}>
                  <td>{when(b.start)}</td>
                  <td>{when(b.end)}</td>
                  <td className="num">{b.reads}</td>
                  <td className="num">{b.writes}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
