// indexOf of a 16-byte needle placed at the end of 16 MiB.
import { cleanup, compare, rate, subjects, type Row } from './util';

const N = 16 << 20;
const needle = Buffer.from('ipcbuffer-needle');

export function run(): Row[] {
  const rows: Row[] = [];
  for (const sub of subjects) {
    const ours = sub.make(N).fill('abcdefgh');
    const base = Buffer.alloc(N, 'abcdefgh');
    needle.copy(ours, N - needle.length);
    needle.copy(base, N - needle.length);
    let found = 0;
    const t = compare(() => void (found += ours.indexOf(needle)), () => void (found += base.indexOf(needle)));
    if (found !== 20 * (N - needle.length)) throw new Error(`indexOf found the wrong offsets (${found})`);
    rows.push({ scenario: `indexOf 16-byte needle, 16 MiB (${sub.label})`, ours: rate(N, t.ours), baseline: rate(N, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
