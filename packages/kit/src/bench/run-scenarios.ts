import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Runs every `*.bench.ts` in `benchDir` (those whose name contains `only`,
 * when given), each in its own process so one scenario's heap and sockets
 * cannot skew the next. Each prints its own table. Returns the exit status:
 * 1 when any scenario failed.
 */
export function runScenarios(title: string, benchDir: string, only: string | undefined): number {
  const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`${title} benchmarks — Node ${process.version}, ${cpu} (${os.cpus().length} cores)\n`);
  let failed = 0;
  for (const file of fs.readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).sort()) {
    if (only !== undefined && !file.includes(only)) continue;
    process.stdout.write(`\n## ${file}\n`);
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(benchDir, file)], { stdio: 'inherit', cwd: path.resolve(benchDir, '..') });
    if (r.status !== 0) {
      failed++;
      process.stderr.write(`${file} failed (status ${String(r.status ?? r.signal)})\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}
