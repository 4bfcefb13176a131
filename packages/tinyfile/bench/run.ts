// Runs every bench/*.bench.ts scenario and prints one table. Figures are
// ratios against what a user would otherwise use, measured in the same run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Row } from './harness';

async function main(): Promise<void> {
  const only = process.argv[2];
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts') && (only === undefined || f.startsWith(only)))
    .sort();
  const rows: Row[] = [];
  for (const f of files) {
    const mod = require(path.join(__dirname, f)) as { run: () => Promise<Row[]> };
    rows.push(...(await mod.run()));
  }
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const lines = [
    `Node ${process.version}, ${cpu}, ${os.cpus().length} cores${process.env['BENCH_QUICK'] === '1' ? ' (BENCH_QUICK)' : ''}${process.env['BENCH_PAIRS'] !== undefined ? `, ${process.env['BENCH_PAIRS']} pairs per row` : ''}`,
    '',
    '| scenario | case | tinyd | baseline | ratio |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.case} | ${r.tinyd} | ${r.baseline} | ${r.ratio === 0 ? '-' : `${r.ratio.toFixed(2)}×`}${r.range === undefined ? '' : ` (${r.range[0].toFixed(2)}–${r.range[1].toFixed(2)})`}${r.better === 'lower' ? ' (lower is better)' : ''} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
