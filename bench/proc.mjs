// Process figures from Linux's /proc, shared by the benchmarks.
import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system, every thread) a process has used so far; NaN where there is no /proc. Linux reports
 * them in clock ticks of 1/100 s.
 */
export function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in MB (10^6 bytes, the unit of the targets); NaN where there is no /proc. */
export function rssMegabytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? (Number(match[1]) * 1024) / 1e6 : NaN;
  } catch {
    return NaN;
  }
}
