// Index read/write loop: b[i] = …; s += b[i], 1 MiB per pass.
import { cleanup, compare, fresh, opsRate, subjects, type Row } from './util';

const N = 1 << 20;

function loop(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    b[i] = i & 0xff;
    s += b[i] as number;
  }
  return s;
}

export function run(): Row[] {
  const rows: Row[] = [];
  for (const sub of subjects) {
    const ours = sub.make(N);
    const base = Buffer.alloc(N);
    const fo = fresh(loop);
    const fb = fresh(loop);
    const t = compare(() => void fo(ours), () => void fb(base), 15);
    rows.push({ scenario: `index write+read loop, 1 MiB (${sub.label})`, ours: opsRate(N, t.ours), baseline: opsRate(N, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
