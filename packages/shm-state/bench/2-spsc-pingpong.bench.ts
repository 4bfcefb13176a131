// Round trips of a 64-byte message: SpscQueue pair vs a Unix domain socket,
// between the same two processes. Both sides use the same wait strategy.
import fs from 'node:fs';
import net from 'node:net';

import { SharedFd } from '@shmkit/shm-fd';

import { SpscQueue } from './lib';
import { baselines } from './baselines';
import { fmtUs, peer, percentile, tmpSocketPath, type Row } from './util';

const TRIPS = 5000;
const WARMUP = 3000;
type Mode = 'block' | 'default' | 'spin' | 'async';

async function viaQueues(mode: Mode): Promise<number[]> {
  const cap = 65536;
  const second = SpscQueue.byteLengthFor(cap);
  using fd = SharedFd.create({ size: 2 * second });
  const map = fd.map();
  const a = SpscQueue.create(map.buffer, { capacity: cap });
  const b = SpscQueue.create(map.buffer, { offset: second, capacity: cap });
  const p = peer(['spsc-echo', mode, String(second)], [fd.fd]);
  await p.line(/ready/);
  const msg = Buffer.alloc(64, 3);
  const lat: number[] = [];
  for (let i = 0; i < TRIPS + WARMUP; i++) {
    const t0 = performance.now();
    a.tryPush(msg);
    let r: Buffer | null = null;
    if (mode === 'spin') {
      do r = b.tryPop();
      while (r === null);
    } else if (mode === 'async') {
      r = await b.pop();
    } else {
      r = b.popSync({ spinUs: mode === 'block' ? 0 : undefined });
    }
    if (r === null || r.length !== 64) throw new Error('echo lost');
    if (i >= WARMUP) lat.push((performance.now() - t0) * 1000);
  }
  a.tryPush(Buffer.alloc(0));
  await p.line(/done/);
  await p.exited;
  a.close();
  b.close();
  map.close();
  return lat.sort((x, y) => x - y);
}

async function viaSocket(): Promise<number[]> {
  const path = tmpSocketPath('pp');
  fs.rmSync(path, { force: true });
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const p = peer(['sock-echo', path]);
  const [sock] = (await Promise.all([new Promise<net.Socket>((r) => server.once('connection', r)), p.line(/ready/)])) as [net.Socket, unknown];
  sock.setNoDelay(true);
  const msg = Buffer.alloc(64, 3);
  const lat: number[] = [];
  let got = 0;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 64) {
      got -= 64;
      wake?.();
    }
  });
  for (let i = 0; i < TRIPS + WARMUP; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      wake = r;
      sock.write(msg);
    });
    if (i >= WARMUP) lat.push((performance.now() - t0) * 1000);
  }
  sock.end();
  await p.exited;
  await new Promise((r) => server.close(r));
  return lat.sort((x, y) => x - y);
}

/** The Unix-socket 64 B round trip p50 (µs), for scenarios run without this one. */
export async function socketRoundTripP50Us(): Promise<number> {
  baselines.socketRoundTripP50Us ??= percentile(await viaSocket(), 0.5);
  return baselines.socketRoundTripP50Us;
}

export async function run(): Promise<Row[]> {
  const sock = await viaSocket();
  const s50 = percentile(sock, 0.5);
  const s99 = percentile(sock, 0.99);
  baselines.socketRoundTripP50Us = s50;
  const rows: Row[] = [];
  const names: Record<Mode, string> = {
    block: 'blocking, sleep at once',
    default: 'blocking, adaptive spin then sleep',
    spin: 'spinning (tryPop loop)',
    async: 'async (await pop, doorbell)',
  };
  for (const mode of ['block', 'default', 'spin', 'async'] as const) {
    const q = await viaQueues(mode);
    const q50 = percentile(q, 0.5);
    const q99 = percentile(q, 0.99);
    rows.push({ scenario: `ping-pong 64 B p50, ${names[mode]}`, ours: fmtUs(q50), baseline: `${fmtUs(s50)} (Unix socket)`, ratio: s50 / q50 });
    rows.push({ scenario: `ping-pong 64 B p99, ${names[mode]}`, ours: fmtUs(q99), baseline: `${fmtUs(s99)} (Unix socket)`, ratio: s99 / q99 });
  }
  return rows;
}
