// SpscQueue vs a Unix domain stream socket between the same two processes:
// one process sends N messages, the other receives them all.
import fs from 'node:fs';
import net from 'node:net';

import { SharedFd } from '@shmkit/shm-fd';

import { SpscQueue } from './lib';
import { baselines } from './baselines';
import { fmtRate, peer, tmpSocketPath, type Row } from './util';

async function viaQueue(size: number, count: number, capacity: number): Promise<number> {
  using fd = SharedFd.create({ size: SpscQueue.byteLengthFor(capacity) });
  const map = fd.map();
  const q = SpscQueue.create(map.buffer, { capacity });
  const p = peer(['spsc-sink', String(count)], [fd.fd]);
  await p.line(/ready/);
  const msg = Buffer.alloc(size, 1);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) if (!q.tryPush(msg)) q.pushSync(msg);
  const done = await p.line(/done (\d+)/);
  const ms = performance.now() - t0;
  if (Number(done[1]) !== size * count) throw new Error(`sink received ${done[1]} bytes, expected ${size * count}`);
  await p.exited;
  q.close();
  map.close();
  return ms;
}

async function viaSocket(size: number, count: number): Promise<number> {
  const path = tmpSocketPath('tp');
  fs.rmSync(path, { force: true });
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const p = peer(['sock-sink', path, String(count)]);
  const [sock] = (await Promise.all([new Promise<net.Socket>((r) => server.once('connection', r)), p.line(/ready/)])) as [net.Socket, unknown];
  const frame = Buffer.alloc(4 + size, 1);
  frame.writeUInt32LE(size, 0);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    if (!sock.write(frame)) await new Promise((r) => sock.once('drain', r));
  }
  const done = await p.line(/done (\d+)/);
  const ms = performance.now() - t0;
  if (Number(done[1]) !== size * count) throw new Error(`socket sink received ${done[1]} bytes`);
  sock.destroy();
  await p.exited;
  await new Promise((r) => server.close(r));
  return ms;
}

/** The 64 B Unix-socket rate (msgs/s), for scenarios run without this one. */
export async function socketMsgsPerSec64(): Promise<number> {
  const count = 400_000;
  baselines.socketMsgsPerSec64 ??= (count / (await viaSocket(64, count))) * 1000;
  return baselines.socketMsgsPerSec64;
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [label, size, count, capacity] of [
    ['64 B', 64, 400_000, 1 << 20],
    ['64 KiB', 65536, 6000, 4 << 20],
  ] as const) {
    await viaQueue(size, Math.floor(count / 10), capacity); // warm-up
    const q = await viaQueue(size, count, capacity);
    const s = await viaSocket(size, count);
    const qRate = (count / q) * 1000;
    const sRate = (count / s) * 1000;
    if (size === 64) baselines.socketMsgsPerSec64 = sRate;
    rows.push({ scenario: `SPSC ${label}: messages/s`, ours: fmtRate(qRate, 'msg'), baseline: `${fmtRate(sRate, 'msg')} (Unix socket)`, ratio: qRate / sRate });
    rows.push({
      scenario: `SPSC ${label}: MB/s`,
      ours: `${((qRate * size) / 1e6).toFixed(0)} MB/s`,
      baseline: `${((sRate * size) / 1e6).toFixed(0)} MB/s (Unix socket)`,
      ratio: qRate / sRate,
    });
  }
  return rows;
}
