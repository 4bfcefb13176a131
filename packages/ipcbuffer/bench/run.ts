// Runs every bench/*.bench.ts scenario and prints one table of IPCBuffer vs
// the alternative a user would pick (a plain Buffer, fs.writeSync), measured
// in the same run. Ratios > 1 mean IPCBuffer is faster.
// Usage: tsx bench/run.ts [scenario-substring]   (IPCBUFFER_BENCH_FILE_MB=256 to shrink the file scenario)
import fs from 'node:fs';
import path from 'node:path';

import { printTable, removeScratch, type Row } from './util';

async function main(): Promise<void> {
  const only = process.argv[2];
  const rows: Row[] = [];
  try {
    for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).sort()) {
      if (only !== undefined && !file.includes(only)) continue;
      const mod = require(path.join(__dirname, file)) as { run: () => Row[] | Promise<Row[]> };
      rows.push(...(await mod.run()));
    }
  } finally {
    removeScratch();
  }
  printTable('@shmkit/ipcbuffer', rows);
}

void main();
