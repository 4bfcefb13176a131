// HashMap against lmdb, the shared key-value store a Node user would pick
// instead: the same file opened from every process (noSync: no fsync, as
// shared memory has none), binary values, string keys. 10,000 keys of 12
// bytes, 64-byte values, random keys (seeded). The parent fills the store;
// child processes run the operations and time themselves; every get checks
// the key number inside the value, and after a set row the parent reads every
// key back (outside the timed region).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';
import { removedAtExit } from '@shmkit/kit/bench';

import { HashMap } from './lib';
import { keyName } from './map-ops';
import { abPairs, cpuPerMillion, rangeNote, ratios, scaled, type Pairs, type Sample } from './pairs';
import { median, peer, rateWithCpu, type Peer, type Row } from './util';

const KEYS = 10_000;
const GEOMETRY = { capacity: 16384, keySize: 16, valueSize: 64 };
const DONE = /done ([\d.]+) (\d+) (\d+) (\d+) (\d+)/;

function valueOf(k: number): Buffer {
  const v = Buffer.alloc(64, 0x5a);
  v.writeUInt32LE(k, 0);
  return v;
}

/** Starts every worker at once, checks their reports; rate = all operations ÷ the slowest worker's time. */
async function runWorkers(workers: Peer[], ops: number, what: string): Promise<Sample> {
  await Promise.all(workers.map((w) => w.line(/ready/)));
  for (const w of workers) w.child.stdin?.write('g');
  const reports = await Promise.all(workers.map((w) => w.line(DONE)));
  await Promise.all(workers.map((w) => w.exited));
  let cpu = 0;
  let ms = 0;
  for (const r of reports) {
    const [misses, bad] = [Number(r[3]), Number(r[4])];
    if (misses !== 0 || bad !== 0) throw new Error(`${what}: a worker got ${misses} missing keys and ${bad} wrong values`);
    ms = Math.max(ms, Number(r[1]));
    cpu += Number(r[5]);
  }
  return { value: ((workers.length * ops) / ms) * 1000, cpuUs: cpu, units: workers.length * ops };
}

function checkAll(get: (k: string) => Buffer | undefined, what: string): void {
  for (let k = 0; k < KEYS; k++) {
    const v = get(keyName(k));
    if (v === undefined || v.length !== 64 || v.readUInt32LE(0) !== k) throw new Error(`${what}: key ${k} reads back wrong after the run (${v === undefined ? "missing" : v.toString("hex")})`);
  }
}

async function viaHashMap(procs: number, ops: number, setPercent: number): Promise<Sample> {
  using fd = SharedFd.create({ size: HashMap.byteLengthFor(GEOMETRY) });
  const map = fd.map();
  const h = HashMap.create(map.buffer, GEOMETRY);
  for (let k = 0; k < KEYS; k++) h.set(keyName(k), valueOf(k));
  const workers = Array.from({ length: procs }, (_, i) => peer(['map-ops', String(KEYS), String(ops), String(1234 + i), String(setPercent)], [fd.fd]));
  const s = await runWorkers(workers, ops, 'HashMap');
  checkAll((k) => h.get(k), 'HashMap');
  h.close();
  map.close();
  return s;
}

async function viaLmdb(procs: number, ops: number, setPercent: number): Promise<Sample> {
  const { open } = await import('lmdb');
  const dir = removedAtExit(fs.mkdtempSync(path.join(os.tmpdir(), 'shm-state-bench-lmdb-')));
  const file = path.join(dir, 'db');
  const db = open<Buffer, string>({ path: file, noSync: true, encoding: 'binary' });
  db.transactionSync(() => {
    for (let k = 0; k < KEYS; k++) db.putSync(keyName(k), valueOf(k));
  });
  const workers = Array.from({ length: procs }, (_, i) => peer(['lmdb-ops', file, String(KEYS), String(ops), String(1234 + i), String(setPercent)]));
  const s = await runWorkers(workers, ops, 'lmdb');
  checkAll((k) => db.get(k), 'lmdb');
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return s;
}

function row(scenario: string, pairs: Pairs, baseline: string): Row {
  const rs = ratios(pairs, 'rate');
  return {
    scenario,
    ours: rateWithCpu(median(pairs.ours.map((s) => s.value)), 'op', cpuPerMillion(pairs.ours)),
    baseline: `${rateWithCpu(median(pairs.base.map((s) => s.value)), 'op', cpuPerMillion(pairs.base))} (${baseline})`,
    ratio: median(rs),
    note: rangeNote(rs),
  };
}

export async function run(): Promise<Row[]> {
  const gets = scaled(1_000_000, 10_000);
  const sets = scaled(500_000, 5_000);
  return [
    row('shared map get, from another process', await abPairs(() => viaHashMap(1, gets, 0), () => viaLmdb(1, gets, 0)), 'lmdb get, noSync'),
    row('shared map set', await abPairs(() => viaHashMap(1, sets, 100), () => viaLmdb(1, sets, 100)), 'lmdb async put, noSync'),
    row('shared map 80% get / 20% set, 2 processes', await abPairs(() => viaHashMap(2, sets, 20), () => viaLmdb(2, sets, 20)), 'lmdb get / async put, noSync'),
  ];
}
