// How much running restore-v1 snapshots slows the child: a child committing
// 8-byte payloads on a 100 MB fully written file, under shm-restore without
// --snapshot (no copies while it runs) and with --snapshot restore-v1
// (a full copy + fsync every 100 ms). Both share the machine's cores.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { fmtRate, type Row } from './util';

function childRate(snapshot: boolean, dir: string): { rate: number; written: number } {
  const bin = path.join(__dirname, '..', 'dist', 'bin', 'shm-restore.js');
  const backup = path.join(dir, snapshot ? 'with' : 'without');
  const args = [bin, '-q', ...(snapshot ? ['--snapshot', 'restore-v1'] : []), backup, '--', process.execPath, path.join(__dirname, 'child-writer.js')];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, DURATION_MS: '3000', NODE_DEBUG: 'shm-restore' } });
  if (r.status !== 0) throw new Error(`shm-restore failed (${r.status}); build first (pnpm build)\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const written = r.stderr.split('\n').filter((l) => l.includes('snapshot written')).length;
  return { rate: (JSON.parse(line) as { rate: number }).rate, written };
}

export function run(): Row[] {
  const dir = fs.mkdtempSync(path.join(process.env['SHM_BENCH_DIR'] ?? os.tmpdir(), 'shm-restore-rate-'));
  try {
    const without = childRate(false, dir);
    const withSnapshots = childRate(true, dir);
    return [
      {
        scenario: 'child commits (8 B, 100 MB file) with restore-v1 snapshots every 100 ms vs without',
        ours: fmtRate(withSnapshots.rate),
        baseline: fmtRate(without.rate),
        ratio: withSnapshots.rate / without.rate,
        note: `(${withSnapshots.written} snapshots written in 3 s)`,
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
