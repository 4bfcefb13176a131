// MpmcQueue operations per second with 1, 2 and 4 processes, each pushing
// and popping 64-byte messages on one shared queue. The baseline is the
// 64 B message rate of a Unix socket measured earlier in this run.
import { SharedFd } from '@shmkit/shm-fd';

import { MpmcQueue } from './lib';
import { socketMsgsPerSec64 } from './1-queue-peers.bench';
import { fmtRate, peer, type Row } from './util';

const ITER = 100_000;

async function ops(procs: number): Promise<number> {
  const qBytes = MpmcQueue.byteLengthFor(1024, 64);
  using fd = SharedFd.create({ size: qBytes + 4096 });
  const map = fd.map();
  MpmcQueue.create(map.buffer, { capacity: 1024, slotSize: 64 });
  const goAt = qBytes + 64 - (qBytes % 64);
  const peers = Array.from({ length: procs }, () => peer(['mpmc-worker', String(ITER), String(goAt)], [fd.fd]));
  await Promise.all(peers.map((p) => p.line(/ready/)));
  Atomics.store(new Int32Array(map.buffer.buffer, map.buffer.byteOffset + goAt, 1), 0, 1);
  const times = await Promise.all(peers.map(async (p) => Number((await p.line(/done ([\d.]+)/))[1])));
  await Promise.all(peers.map((p) => p.exited));
  map.close();
  return (procs * ITER * 2) / (Math.max(...times) / 1000);
}

export async function run(): Promise<Row[]> {
  // Measured by scenario 1 when the whole suite runs; measured here when run alone.
  const base = await socketMsgsPerSec64();
  const rows: Row[] = [];
  for (const n of [1, 2, 4]) {
    const r = await ops(n);
    rows.push({
      scenario: `MPMC 64 B push+pop, ${n} process${n > 1 ? 'es' : ''}: ops/s`,
      ours: fmtRate(r, 'op'),
      baseline: `${fmtRate(base, 'msg')} (Unix socket, 64 B)`,
      ratio: r / base,
    });
  }
  return rows;
}
