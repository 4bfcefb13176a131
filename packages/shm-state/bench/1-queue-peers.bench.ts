// SpscQueue against what a Node user would use instead to move messages
// between two processes: a tuned Unix socket (length-prefixed frames, writes
// coalesced into 256 KiB chunks, frames parsed in place) and zeromq PUSH/PULL
// over ipc://. One process sends N messages, the other receives and
// checksums them; each figure is N ÷ (first send → receiver done).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';
import { removedAtExit } from '@shmkit/kit/bench';

import { baselines } from './baselines';
import { expectedSum, stamp } from './checksum';
import { FrameWriter } from './frames';
import { SpscQueue } from './lib';
import { abPairs, cpuPerMillion, rangeNote, ratios, scaled, type Pairs, type Sample } from './pairs';
import { cpuSince, median, peer, rateWithCpu, tmpSocketPath, type Row } from './util';

const CHUNK = 256 * 1024;

/** Checks the receiver's "done <n> <sum> <cpuUs>" against what was sent; returns its CPU µs. */
function verified(done: RegExpExecArray, count: number, what: string): number {
  const [n, sum] = [Number(done[1]), Number(done[2])];
  if (n !== count || sum !== expectedSum(count)) throw new Error(`${what}: receiver got ${n} messages with checksum ${sum}, expected ${count} with ${expectedSum(count)}`);
  return Number(done[3]);
}

const DONE = /done (\d+) (\d+) (\d+)/;

/** Messages a `*-many` producer stamps and hands to tryPushMany() at once. */
const RUN = 256;

/**
 * SpscQueue: `block` = tryPush/pushSync → drain/popSync; `await` =
 * tryPush/await push → for await batches; `block-many` = tryPushMany/pushSync
 * → drainRecords/popSync; `await-many` = tryPushMany/await push →
 * drainRecords/await waitNotEmpty; `block-cork` = `block`'s producer under
 * cork() → drainRecords/popSync.
 */
type QueueMode = 'block' | 'await' | 'block-many' | 'await-many' | 'block-cork';
const SINK_MODE: Record<QueueMode, string> = { block: 'block', await: 'batch', 'block-many': 'records', 'await-many': 'records-await', 'block-cork': 'records' };

async function viaQueue(mode: QueueMode, size: number, count: number): Promise<Sample> {
  const capacity = size > 1024 ? 4 << 20 : 1 << 20;
  using fd = SharedFd.create({ size: SpscQueue.byteLengthFor(capacity) });
  const map = fd.map();
  const q = SpscQueue.create(map.buffer, { capacity });
  const p = peer(['q-sink', SINK_MODE[mode], String(count)], [fd.fd]);
  await p.line(/ready/);
  const msg = Buffer.alloc(size, 1);
  const run = Array.from({ length: RUN }, () => Buffer.alloc(size, 1));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  // The socket's writer coalesces frames; cork() is the queue's way to do the same.
  const corked = mode === 'block-cork';
  if (corked) q.cork();
  if (mode === 'block' || mode === 'block-cork') {
    for (let i = 0; i < count; i++) {
      stamp(msg, i);
      if (!q.tryPush(msg)) q.pushSync(msg);
    }
  } else if (mode === 'await') {
    for (let i = 0; i < count; i++) {
      stamp(msg, i);
      if (!q.tryPush(msg)) await q.push(msg);
    }
  } else {
    for (let i = 0; i < count; ) {
      const k = Math.min(RUN, count - i);
      for (let j = 0; j < k; j++) stamp(run[j] as Buffer, i + j);
      for (let done = 0; done < k; ) {
        const pushed = q.tryPushMany(run, done, k);
        if (pushed > 0) {
          done += pushed;
          continue;
        }
        // Full: wait for room for one, then go back to runs.
        if (mode === 'block-many') q.pushSync(run[done] as Buffer);
        else await q.push(run[done] as Buffer);
        done++;
      }
      i += k;
    }
  }
  if (corked) q.uncork();
  const cpu = cpuSince(c0);
  const done = await p.line(DONE);
  const ms = performance.now() - t0;
  const peerCpu = verified(done, count, `SpscQueue ${mode}`);
  await p.exited;
  q.close();
  map.close();
  return { value: (count / ms) * 1000, cpuUs: cpu + peerCpu, units: count };
}

async function viaSocket(size: number, count: number): Promise<Sample> {
  const where = tmpSocketPath('tp');
  fs.rmSync(where, { force: true });
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(where, r));
  const p = peer(['sock-sink', where, String(count), String(size)]);
  const [sock] = (await Promise.all([new Promise<net.Socket>((r) => server.once('connection', r)), p.line(/ready/)])) as [net.Socket, unknown];
  const out = new FrameWriter(sock, CHUNK);
  const msg = Buffer.alloc(size, 1);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    stamp(msg, i);
    const wait = out.write(msg);
    if (wait !== undefined) await wait;
  }
  await out.flush();
  const cpu = cpuSince(c0);
  const done = await p.line(DONE);
  const ms = performance.now() - t0;
  const peerCpu = verified(done, count, 'Unix socket');
  sock.destroy();
  await p.exited;
  await new Promise((r) => server.close(r));
  return { value: (count / ms) * 1000, cpuUs: cpu + peerCpu, units: count };
}

async function viaZmq(size: number, count: number): Promise<Sample> {
  const zmq = await import('zeromq');
  const dir = removedAtExit(fs.mkdtempSync(path.join(os.tmpdir(), 'shm-state-bench-zmq-')));
  const endpoint = `ipc://${path.join(dir, 'push')}`;
  const push = new zmq.Push();
  await push.bind(endpoint);
  const p = peer(['zmq-sink', endpoint, String(count)]);
  await p.line(/ready/);
  const msg = Buffer.alloc(size, 1);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    stamp(msg, i);
    // send() copies the message before it resolves, so one buffer serves every send.
    await push.send(msg);
  }
  const cpu = cpuSince(c0);
  const done = await p.line(DONE);
  const ms = performance.now() - t0;
  const peerCpu = verified(done, count, 'zeromq');
  await p.exited;
  push.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { value: (count / ms) * 1000, cpuUs: cpu + peerCpu, units: count };
}

function row(scenario: string, pairs: Pairs, baseline: string): Row {
  const rs = ratios(pairs, 'rate');
  return {
    scenario,
    ours: rateWithCpu(median(pairs.ours.map((s) => s.value)), 'msg', cpuPerMillion(pairs.ours)),
    baseline: `${rateWithCpu(median(pairs.base.map((s) => s.value)), 'msg', cpuPerMillion(pairs.base))} (${baseline})`,
    ratio: median(rs),
    note: rangeNote(rs),
  };
}

/** The tuned socket's 64 B rate (msgs/s), for scenarios run without this one. */
export async function socketMsgsPerSec64(): Promise<number> {
  baselines.socketMsgsPerSec64 ??= (await viaSocket(64, scaled(400_000, 1000))).value;
  return baselines.socketMsgsPerSec64;
}

export async function run(): Promise<Row[]> {
  // Long enough that a sample measures the stream rather than a freshly
  // started receiver being compiled: the first ~60 ms of every sample run
  // at a fraction of the steady rate, which at 4,000,000 messages (a quarter
  // of a second for us, 0.7 s for the socket) still cost our side a third.
  const n64 = scaled(16_000_000, 1000);
  // zeromq moves about 0.4 M/s: 400,000 messages are a second already.
  const nZmq = scaled(400_000, 1000);
  const nBig = scaled(6000, 100);
  const rows: Row[] = [];
  const sock64 = await abPairs(
    () => viaQueue('block', 64, n64),
    () => viaSocket(64, n64),
  );
  baselines.socketMsgsPerSec64 = median(sock64.base.map((s) => s.value));
  rows.push(row('64 B messages/s, blocking (pushSync → drain/popSync)', sock64, 'tuned Unix socket'));
  rows.push(row('64 B messages/s, await (await push → for await batches)', await abPairs(() => viaQueue('await', 64, n64), () => viaSocket(64, n64)), 'tuned Unix socket'));
  rows.push(row('64 B messages/s, blocking corked (cork(), pushSync → drainRecords/popSync)', await abPairs(() => viaQueue('block-cork', 64, n64), () => viaSocket(64, n64)), 'tuned Unix socket'));
  rows.push(row(`64 B messages/s, blocking runs (tryPushMany of ${RUN} → drainRecords)`, await abPairs(() => viaQueue('block-many', 64, n64), () => viaSocket(64, n64)), 'tuned Unix socket'));
  rows.push(row(`64 B messages/s, await runs (tryPushMany of ${RUN} → drainRecords, await waitNotEmpty)`, await abPairs(() => viaQueue('await-many', 64, n64), () => viaSocket(64, n64)), 'tuned Unix socket'));
  rows.push(row('64 B messages/s, blocking', await abPairs(() => viaQueue('block', 64, nZmq), () => viaZmq(64, nZmq)), 'zeromq PUSH/PULL ipc://'));
  rows.push(row('64 KiB messages/s, blocking', await abPairs(() => viaQueue('block', 65536, nBig), () => viaSocket(65536, nBig)), 'tuned Unix socket'));
  rows.push(row('64 KiB messages/s, await', await abPairs(() => viaQueue('await', 65536, nBig), () => viaSocket(65536, nBig)), 'tuned Unix socket'));
  return rows;
}
