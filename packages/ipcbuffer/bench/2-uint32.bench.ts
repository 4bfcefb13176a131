// writeUInt32LE / readUInt32LE loop, 1 MiB per pass.
import { cleanup, compare, fresh, opsRate, subjects, type Row } from './util';

const N = 1 << 20;

function loop(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 4 <= b.length; i += 4) {
    b.writeUInt32LE(i, i);
    s += b.readUInt32LE(i);
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
    rows.push({ scenario: `writeUInt32LE+readUInt32LE loop, 1 MiB (${sub.label})`, ours: opsRate(N / 4, t.ours), baseline: opsRate(N / 4, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
