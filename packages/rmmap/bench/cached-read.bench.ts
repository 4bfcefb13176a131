// Re-reading a section that is already in the client's page cache vs copying
// the same bytes out of a plain Buffer (what a user holding the data locally
// would do). Both produce a fresh copy of each 64 KiB piece. Knob: RMMAP_BENCH_CACHED_MB (16).
import fs from 'node:fs';
import path from 'node:path';

// The built package, as users run it (tsx-transpiled sources add per-call overhead of their own).
import { rmmap } from '@shmkit/rmmap';
import { randomFile, scratch, startRmmapd, table } from './util';

const MB = Number(process.env['RMMAP_BENCH_CACHED_MB'] ?? 16);
const SIZE = MB * 1024 * 1024;
const PIECE = 64 * 1024;
const PASSES = 20;

async function main(): Promise<void> {
  const dir = scratch();
  randomFile(path.join(dir, 'hot.bin'), SIZE);
  const daemon = await startRmmapd(dir);
  try {
    const m = await rmmap({ host: '127.0.0.1', port: daemon.port, path: 'hot.bin' }, 0, SIZE, { writable: false, cacheSize: 2 * SIZE });
    const local = await m.read(0, SIZE); // fills the cache; also the Buffer the baseline copies from
    let sink = 0;
    const passAsync = async () => {
      for (let p = 0; p < PASSES; p++) for (let at = 0; at < SIZE; at += PIECE) sink += (await m.read(at, PIECE))[0] as number;
    };
    const passSync = () => {
      for (let p = 0; p < PASSES; p++) for (let at = 0; at < SIZE; at += PIECE) sink += (m.readCached(at, PIECE) as Buffer)[0] as number;
    };
    const passCopy = () => {
      for (let p = 0; p < PASSES; p++) {
        for (let at = 0; at < SIZE; at += PIECE) {
          const out = Buffer.allocUnsafe(PIECE);
          local.copy(out, 0, at, at + PIECE);
          sink += out[0] as number;
        }
      }
    };
    const ms = async (fn: () => Promise<void> | void): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await fn();
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    // Interleaved rounds, best of each: load from elsewhere hits all three alike.
    let asyncRead = Infinity;
    let syncRead = Infinity;
    let copy = Infinity;
    for (let r = 0; r < 7; r++) {
      asyncRead = Math.min(asyncRead, await ms(passAsync));
      syncRead = Math.min(syncRead, await ms(passSync));
      copy = Math.min(copy, await ms(passCopy));
    }
    await m.close();
    const mbps = (ms: number) => ((MB * PASSES) / (ms / 1000)).toFixed(0);
    table(
      ['scenario', 'rmmap MB/s', 'Buffer copy MB/s', 'ratio (rmmap / Buffer copy)'],
      [
        [`cached re-read, await m.read() (${MB} MiB × ${PASSES}, 64 KiB pieces)`, mbps(asyncRead), mbps(copy), (copy / asyncRead).toFixed(2)],
        [`cached re-read, m.readCached() (sync)`, mbps(syncRead), mbps(copy), (copy / syncRead).toFixed(2)],
      ],
    );
    if (sink === -1) process.stdout.write('\n');
  } finally {
    daemon.child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
