// Internal to shmkit: the table every package's `bench` script prints, so
// figures read the same everywhere. Not a stable API.
import fs from 'node:fs';
import os from 'node:os';

export interface Row {
  scenario: string;
  ours: string;
  baseline: string;
  /** > 1 means shmkit is faster or cheaper than the alternative, measured in the same run. */
  ratio: number;
  note?: string;
}

/** Node version, CPU model, cores and kernel, for the README next to the figures. */
export function environment(): string {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // keep os.cpus()
  }
  return `Node ${process.version}, ${cpu}, ${os.cpus().length} cores, Linux ${os.release()}`;
}

/** Prints a markdown table: scenario, our figure, the alternative's, and the ratio. */
export function printTable(title: string, rows: Row[], oursLabel = 'shmkit'): void {
  const header = ['scenario', oursLabel, 'alternative', 'ratio'];
  const body = rows.map((r) => [r.scenario, r.ours, r.baseline, `${r.ratio.toFixed(2)}×${r.note ? ` ${r.note}` : ''}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(`\n### ${title}\n\n${environment()}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
}
