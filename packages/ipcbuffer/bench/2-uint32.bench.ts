// writeUInt32LE / readUInt32LE loop, 1 MiB per pass.
import { compareLoops, type Row } from './util';

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
  return compareLoops('writeUInt32LE+readUInt32LE loop, 1 MiB', N, N / 4, loop);
}
