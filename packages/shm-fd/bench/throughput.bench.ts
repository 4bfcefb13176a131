// Sequential read and write through a mapping vs a plain Buffer of the same size.
import { SharedFd } from '../src';
import { timePair, type Row } from './util';

const SIZE = 64 * 1024 * 1024;

function writeLoop(b: Buffer): void {
  const f = new Float64Array(b.buffer, b.byteOffset, b.length / 8);
  for (let i = 0; i < f.length; i++) f[i] = i;
}

function readLoop(b: Buffer): number {
  const f = new Float64Array(b.buffer, b.byteOffset, b.length / 8);
  let s = 0;
  for (let i = 0; i < f.length; i++) s += f[i] as number;
  return s;
}

export function run(): Row[] {
  using shared = SharedFd.create({ name: 'bench', size: SIZE });
  using m = shared.map();
  const plain = Buffer.alloc(SIZE);
  const other = Buffer.alloc(SIZE);
  const mb = SIZE / 1024 / 1024;
  const rows: Row[] = [];
  const pair = (scenario: string, ours: () => void, base: () => void) => {
    const t = timePair(ours, base);
    rows.push({
      scenario,
      ours: `${((mb / t.ours) * 1000).toFixed(0)} MB/s`,
      baseline: `${((mb / t.base) * 1000).toFixed(0)} MB/s`,
      ratio: t.base / t.ours,
    });
  };
  pair('sequential write, Float64Array loop (64 MiB)', () => writeLoop(m.buffer), () => writeLoop(plain));
  pair('sequential read, Float64Array loop (64 MiB)', () => void readLoop(m.buffer), () => void readLoop(plain));
  pair('buf.fill (64 MiB)', () => void m.buffer.fill(1), () => void plain.fill(1));
  pair('copy into a Buffer (64 MiB)', () => void m.buffer.copy(other), () => void plain.copy(other));
  return rows;
}
