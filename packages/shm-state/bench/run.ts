// Runs every bench/*.bench.ts scenario in order and prints one table.
// Ratios > 1 mean shm-state is faster or cheaper than the alternative
// measured in the same run. `tsx bench/run.ts [name-filter]`.
import fs from 'node:fs';
import path from 'node:path';

import { printTable, type Row } from './util';

async function main(): Promise<void> {
  const only = process.argv[2];
  const rows: Row[] = [];
  for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).sort()) {
    if (only !== undefined && !file.includes(only)) continue;
    const mod = require(path.join(__dirname, file)) as { run: () => Promise<Row[]> };
    rows.push(...(await mod.run()));
  }
  printTable('@shmkit/shm-state', rows);
}

void main();
