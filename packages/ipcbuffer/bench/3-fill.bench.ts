// buf.fill over 16 MiB.
import { cleanup, compare, rate, subjects, type Row } from './util';

const N = 16 << 20;

export function run(): Row[] {
  const rows: Row[] = [];
  for (const sub of subjects) {
    const ours = sub.make(N);
    const base = Buffer.alloc(N);
    let v = 0;
    const t = compare(() => void ours.fill(++v & 0xff), () => void base.fill(++v & 0xff));
    rows.push({ scenario: `fill, 16 MiB (${sub.label})`, ours: rate(N, t.ours), baseline: rate(N, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
