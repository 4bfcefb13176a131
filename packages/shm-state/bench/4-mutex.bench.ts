// Uncontended Mutex lock + unlock, against the round trip a process would
// pay to ask a lock server over a Unix socket (measured earlier in this run).
import * as sys from '@shmkit/shm-fd/sys';

import { Mutex } from './lib';
import { socketRoundTripP50Us } from './2-roundtrip-peers.bench';
import { fmtUs, type Row } from './util';

export async function run(): Promise<Row[]> {
  const m = sys.mapAnonymous(4096);
  const mu = Mutex.create(m.buffer);
  const N = 1_000_000;
  for (let i = 0; i < 50_000; i++) mu.tryLock()?.unlock();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) mu.tryLock()?.unlock();
  const perOpUs = ((performance.now() - t0) * 1000) / N;
  const t1 = performance.now();
  for (let i = 0; i < N; i++) mu.lockSync()?.unlock();
  const syncUs = ((performance.now() - t1) * 1000) / N;
  m.close();
  // Measured by scenario 2 when the whole suite runs; measured here when run alone.
  const base = await socketRoundTripP50Us();
  const baseline = `${fmtUs(base)} (Unix socket round trip)`;
  return [
    { scenario: 'Mutex uncontended tryLock + unlock', ours: `${(perOpUs * 1000).toFixed(0)} ns`, baseline, ratio: base / perOpUs },
    { scenario: 'Mutex uncontended lockSync + unlock', ours: `${(syncUs * 1000).toFixed(0)} ns`, baseline, ratio: base / syncUs },
  ];
}
