// Runs every bench/*.bench.ts scenario (each prints its own table of ratios
// against the alternative a user would pick, measured in the same run), in
// its own process so one scenario's heap and sockets cannot skew the next.
// Usage: tsx bench/run.ts [scenario-substring]      (build first: npm run build)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const only = process.argv[2];
const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown CPU';
process.stdout.write(`@shmkit/push benchmarks — Node ${process.version}, ${cpu} (${os.cpus().length} cores)\n`);
let failed = 0;
for (const file of fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).sort()) {
  if (only !== undefined && !file.includes(only)) continue;
  process.stdout.write(`\n## ${file}\n`);
  const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, file)], { stdio: 'inherit', cwd: path.resolve(__dirname, '..') });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`${file} failed (status ${String(r.status ?? r.signal)})\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
