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
    let wrong = 0;
    const at = N - needle.length;
    const t = compare(() => void (wrong += ours.indexOf(needle) === at ? 0 : 1), () => void (wrong += base.indexOf(needle) === at ? 0 : 1));
    if (wrong !== 0) throw new Error(`indexOf found the needle at the wrong offset ${wrong} times`);
    rows.push({ scenario: `indexOf 16-byte needle, 16 MiB (${sub.label})`, ours: rate(N, t.ours), baseline: rate(N, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
