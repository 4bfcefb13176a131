// The wrapper's start-up overhead: `shm-fd run -- node -e ''` vs `node -e ''`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { timeMs, type Row } from './util';

export function run(): Row[] {
  const bin = path.join(__dirname, '..', 'dist', 'bin', 'shm-fd.js');
  const wrapped = timeMs(() => {
    const r = spawnSync(process.execPath, [bin, '-q', '--', process.execPath, '-e', ''], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`shm-fd failed with ${r.status}; build first (pnpm build)`);
  }, 9);
  const bare = timeMs(() => {
    spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  }, 9);
  return [
    {
      scenario: "shm-fd run -- node -e '' vs node -e ''",
      ours: `${wrapped.median.toFixed(0)} ms`,
      baseline: `${bare.median.toFixed(0)} ms`,
      ratio: bare.median / wrapped.median,
      note: `(+${(wrapped.median - bare.median).toFixed(0)} ms)`,
    },
  ];
}
