// The wrapper's start-up overhead: `shm-fd run -- node -e ''` vs `node -e ''`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { timePair, type Row } from './util';

export function run(): Row[] {
  const bin = path.join(__dirname, '..', 'dist', 'bin', 'shm-fd.js');
  const t = timePair(
    () => {
      const r = spawnSync(process.execPath, [bin, '-q', '--', process.execPath, '-e', ''], { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`shm-fd failed with ${r.status}; build first (pnpm build)`);
    },
    () => void spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' }),
    9,
  );
  const wrapped = { median: t.ours };
  const bare = { median: t.base };
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
