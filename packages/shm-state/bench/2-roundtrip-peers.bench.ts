// Round trips of a 64-byte message between two processes: SpscQueue pair
// (`await pop()`, with or without a longer spin, or blocking `popSync()`, on
// both sides) against the tuned Unix socket (setNoDelay, one write per frame,
// frames parsed in place) and a zeromq PAIR over ipc://. Each sample is the
// p50 of its round trips, each echo checked for its sequence number; every
// row is measured with both processes on one core, on two cores, and
// unpinned (see pin.ts).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';
import { removedAtExit } from '@shmkit/kit/bench';

import { baselines } from './baselines';
import { stamp } from './checksum';
import { FrameParser } from './frames';
import { SpscQueue } from './lib';
import { abPairs, cpuPerMillion, rangeNote, ratios, scaled, type Pairs, type Sample } from './pairs';
import { cpusFor, pinSelf, placements, type Placement } from './pin';
import { cpuSince, median, peer, percentile, tmpSocketPath, usWithCpu, type Row } from './util';

const trips = () => scaled(5000, 200);
const warmup = () => scaled(2000, 100);

/** p50 of the measured trips, CPU of both sides over every trip (warm-up included). */
function sample(lat: number[], cpuUs: number, peerDone: RegExpExecArray): Sample {
  lat.sort((x, y) => x - y);
  return { value: percentile(lat, 0.5), cpuUs: cpuUs + Number(peerDone[1]), units: trips() + warmup() };
}

function checkEcho(r: Buffer | undefined | null, i: number, what: string): void {
  if (r === null || r === undefined || r.length !== 64 || r.readUInt32LE(0) !== i) throw new Error(`${what}: echo ${i} came back wrong`);
}

/**
 * Times trips() + warmup() round trips: `trip(i)` sends message i (stamped
 * into `msg`) and returns its echo, which `check` verifies after the clock
 * stopped. A blocking trip is not awaited, so it pays no microtask. Returns
 * the measured latencies (µs, warm-up left out) and this side's CPU.
 */
async function timeTrips<R>(msg: Buffer, trip: (i: number) => R | Promise<R>, check: (echo: R, i: number) => void): Promise<{ lat: number[]; cpu: number }> {
  const lat: number[] = [];
  const c0 = process.cpuUsage();
  for (let i = 0, n = trips() + warmup(); i < n; i++) {
    stamp(msg, i);
    const t0 = performance.now();
    const pending = trip(i);
    const r = pending instanceof Promise ? await pending : pending;
    const t = performance.now() - t0;
    check(r, i);
    if (i >= warmup()) lat.push(t * 1000);
  }
  return { lat, cpu: cpuSince(c0) };
}

/**
 * `await-spin`: `await pop({ spinUs })` on both sides, which re-checks the
 * queue for up to this long (holding the event loop) before sleeping.
 */
const AWAIT_SPIN_US = 200;

async function viaQueues(mode: 'await' | 'block' | 'await-spin', where: Placement): Promise<Sample> {
  const [self, other] = cpusFor(where);
  const cap = 65536;
  const second = SpscQueue.byteLengthFor(cap);
  using fd = SharedFd.create({ size: 2 * second });
  const map = fd.map();
  const a = SpscQueue.create(map.buffer, { capacity: cap });
  const b = SpscQueue.create(map.buffer, { offset: second, capacity: cap });
  const p = peer(['q-echo', mode === 'block' ? 'block' : 'async', String(second), String(mode === 'await-spin' ? AWAIT_SPIN_US : 0)], [fd.fd], other);
  const popOptions = mode === 'await-spin' ? { spinUs: AWAIT_SPIN_US } : {};
  await p.line(/ready/);
  pinSelf(self);
  const msg = Buffer.alloc(64, 3);
  const { lat, cpu } = await timeTrips(
    msg,
    () => {
      a.tryPush(msg);
      return mode === 'block' ? b.popSync() : b.pop(popOptions);
    },
    (r, i) => checkEcho(r, i, 'SpscQueue'),
  );
  pinSelf(undefined);
  a.tryPush(Buffer.alloc(0));
  const done = await p.line(/done (\d+)/);
  await p.exited;
  a.close();
  b.close();
  map.close();
  return sample(lat, cpu, done);
}

async function viaSocket(where: Placement): Promise<Sample> {
  const [self, other] = cpusFor(where);
  const file = tmpSocketPath('rt');
  fs.rmSync(file, { force: true });
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(file, r));
  const p = peer(['sock-echo', file], [], other);
  const [sock] = (await Promise.all([new Promise<net.Socket>((r) => server.once('connection', r)), p.line(/ready/)])) as [net.Socket, unknown];
  sock.setNoDelay(true);
  pinSelf(self);
  let wake: ((seq: number) => void) | undefined;
  const parser = new FrameParser(64, (buf, start, len) => wake?.(len === 64 ? buf.readUInt32LE(start) : -1));
  sock.on('data', (d: Buffer) => parser.push(d));
  const frame = Buffer.alloc(68, 3);
  frame.writeUInt32LE(64, 0);
  const msg = frame.subarray(4);
  const { lat, cpu } = await timeTrips(
    msg,
    () =>
      new Promise<number>((r) => {
        wake = r;
        sock.write(frame);
      }),
    (seq, i) => {
      if (seq !== i) throw new Error(`Unix socket: echo ${i} came back as ${seq}`);
    },
  );
  pinSelf(undefined);
  sock.write(Buffer.alloc(4)); // an empty frame ends the echo
  const done = await p.line(/done (\d+)/);
  sock.destroy();
  await p.exited;
  await new Promise((r) => server.close(r));
  return sample(lat, cpu, done);
}

async function viaZmq(where: Placement): Promise<Sample> {
  const [self, other] = cpusFor(where);
  const zmq = await import('zeromq');
  const dir = removedAtExit(fs.mkdtempSync(path.join(os.tmpdir(), 'shm-state-bench-zmq-')));
  const endpoint = `ipc://${path.join(dir, 'pair')}`;
  const pair = new zmq.Pair();
  await pair.bind(endpoint);
  const p = peer(['zmq-echo', endpoint], [], other);
  await p.line(/ready/);
  pinSelf(self);
  const msg = Buffer.alloc(64, 3);
  const { lat, cpu } = await timeTrips(
    msg,
    async () => {
      await pair.send(msg);
      return (await pair.receive())[0];
    },
    (r, i) => checkEcho(r, i, 'zeromq'),
  );
  pinSelf(undefined);
  await pair.send(Buffer.alloc(0));
  const done = await p.line(/done (\d+)/);
  await p.exited;
  pair.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return sample(lat, cpu, done);
}

function row(scenario: string, pairs: Pairs, baseline: string): Row {
  const rs = ratios(pairs, 'latency');
  return {
    scenario,
    ours: usWithCpu(median(pairs.ours.map((s) => s.value)), cpuPerMillion(pairs.ours)),
    baseline: `${usWithCpu(median(pairs.base.map((s) => s.value)), cpuPerMillion(pairs.base))} (${baseline})`,
    ratio: median(rs),
    note: rangeNote(rs),
  };
}

/** The tuned socket's 64 B round trip p50 (µs, unpinned), for scenarios run without this one. */
export async function socketRoundTripP50Us(): Promise<number> {
  baselines.socketRoundTripP50Us ??= (await viaSocket('unpinned')).value;
  return baselines.socketRoundTripP50Us;
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const where of placements()) {
    const sock = await abPairs(() => viaQueues('await', where), () => viaSocket(where));
    if (where === 'unpinned') baselines.socketRoundTripP50Us = median(sock.base.map((s) => s.value));
    rows.push(row(`64 B round trip p50, await, ${where}`, sock, 'tuned Unix socket'));
    rows.push(row(`64 B round trip p50, await with spinUs ${AWAIT_SPIN_US}, ${where}`, await abPairs(() => viaQueues('await-spin', where), () => viaSocket(where)), 'tuned Unix socket'));
    rows.push(row(`64 B round trip p50, blocking popSync, ${where}`, await abPairs(() => viaQueues('block', where), () => viaSocket(where)), 'tuned Unix socket'));
    rows.push(row(`64 B round trip p50, await, ${where}`, await abPairs(() => viaQueues('await', where), () => viaZmq(where)), 'zeromq PAIR ipc://'));
  }
  return rows;
}
