// Index read/write loop: b[i] = …; s += b[i], 1 MiB per pass.
import { compareLoops, type Row } from './util';

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
  return compareLoops('index write+read loop, 1 MiB', N, N, loop);
}
