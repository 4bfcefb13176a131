import fs from 'node:fs';
import path from 'node:path';

/**
 * Runs, in this process and in name order, the `run()` of every
 * `*.bench.ts` in `benchDir` (those whose name contains `only`, when given)
 * and returns all their rows, for one table. Use runScenarios instead when a
 * scenario's heap or sockets could skew the next one.
 */
export async function collectRows<R>(benchDir: string, only: string | undefined): Promise<R[]> {
  const rows: R[] = [];
  for (const file of fs.readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).sort()) {
    if (only !== undefined && !file.includes(only)) continue;
    const mod = require(path.join(benchDir, file)) as { run: () => R[] | Promise<R[]> };
    rows.push(...(await mod.run()));
  }
  return rows;
}
