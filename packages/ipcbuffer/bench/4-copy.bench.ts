// buf.copy of 16 MiB between two buffers of the same kind.
import { cleanup, compare, rate, subjects, type Row } from './util';

const N = 16 << 20;

export function run(): Row[] {
  const rows: Row[] = [];
  for (const sub of subjects) {
    const src = sub.make(N).fill(7);
    const dst = sub.make(N);
    const bsrc = Buffer.alloc(N, 7);
    const bdst = Buffer.alloc(N);
    const t = compare(() => void src.copy(dst), () => void bsrc.copy(bdst));
    rows.push({ scenario: `copy, 16 MiB (${sub.label} → ${sub.label})`, ours: rate(N, t.ours), baseline: rate(N, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
