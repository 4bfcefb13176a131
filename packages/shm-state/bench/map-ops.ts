// The operation loop of the shared-map rows, the same for HashMap and lmdb.
import { cpuSince } from './util';

export interface MapApi {
  get(key: string): Buffer | undefined;
  set(key: string, value: Buffer): void;
  finish(): void | Promise<void>;
}

/**
 * `ops` operations on random keys of `keys` (seeded xorshift), `setPercent`
 * of them sets. Every value carries its key's number in its first 4 bytes;
 * gets check it. After an untimed warm-up, starts when the parent writes a
 * byte to stdin (so two processes start together). Reports
 * "done <ms> <gets> <misses> <bad> <cpuUs>" (misses and bad include the warm-up's).
 */
export async function mapOps(keys: number, ops: number, seed: number, setPercent: number, api: MapApi, ready: () => void): Promise<string> {
  const names = Array.from({ length: keys }, (_, i) => keyName(i));
  const value = Buffer.alloc(64, 0x5a);
  const tally = { gets: 0, misses: 0, bad: 0 };
  // Untimed warm-up, so the timed run measures optimised code on both sides
  // (each sample is a fresh process); its reads are checked too.
  runOps(names, Math.min(50_000, Math.ceil(ops / 10)), seed ^ 0x5bd1e995, setPercent, api, value, tally);
  await api.finish();
  tally.gets = 0;
  const go = new Promise<void>((r) =>
    process.stdin.once('data', () => {
      process.stdin.destroy();
      r();
    }),
  );
  ready();
  await go;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  runOps(names, ops, seed, setPercent, api, value, tally);
  await api.finish();
  const ms = performance.now() - t0;
  return `done ${ms} ${tally.gets} ${tally.misses} ${tally.bad} ${cpuSince(c0)}`;
}

function runOps(names: string[], ops: number, seed: number, setPercent: number, api: MapApi, value: Buffer, tally: { gets: number; misses: number; bad: number }): void {
  const keys = names.length;
  let s = seed >>> 0 || 1;
  for (let i = 0; i < ops; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const k = (s >>> 0) % keys;
    if ((s >>> 0) % 100 < setPercent) {
      value.writeUInt32LE(k, 0);
      value.writeUInt32LE(i, 4);
      api.set(names[k] as string, value);
    } else {
      const v = api.get(names[k] as string);
      tally.gets++;
      if (v === undefined) tally.misses++;
      else if (v.readUInt32LE(0) !== k) tally.bad++;
    }
  }
}

/** The name of key number `i`. */
export function keyName(i: number): string {
  return `key:${String(i).padStart(8, '0')}`;
}

