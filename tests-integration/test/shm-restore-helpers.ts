// An independent reader of shm-snapshot v1 files and of the primes-snapshot
// table, written from shared/formats/shm-fd-and-shm-snapshot.md §2 with
// Buffer reads only (it shares no code with @shmkit/shm-snapshot).
import fs from 'node:fs';
import path from 'node:path';

import { bin, repoRoot } from './helpers/proc';

export const shmRestore = bin('shm-snapshot', 'shm-restore');
export const primesSnapshot = path.join(repoRoot, 'examples', 'primes', 'primes-snapshot.js');
export const childFixture = path.join(__dirname, 'fixtures', 'shm-restore-child.js');

const MAGIC = 0x96c2a6f4b68519b3n;

export interface Decoded {
  entries: number;
  ring: number;
  writeOffset: number;
  valid: { slot: number; offset: number; length: number; payload: Buffer }[];
  ringOffset: number;
  tailOffset: number;
}

/** Decodes a file; throws with a reason when it breaks a rule of the layout. */
export function decode(file: Buffer): Decoded | null {
  if (file.length === 0) return null;
  if (file.readBigUInt64LE(0) !== MAGIC) throw new Error('bad magic');
  const entryMask = Number(file.readBigUInt64LE(8));
  const pageMask = Number(file.readBigUInt64LE(16));
  const writeOffset = Number(file.readBigUInt64LE(24));
  const entries = entryMask + 1;
  const ring = pageMask + 1;
  if ((entries & entryMask) !== 0 || (ring & pageMask) !== 0) throw new Error('masks are not 2^k - 1');
  const seqPages = Math.ceil(entries / 256);
  const ringOffset = 4096 * (1 + seqPages);
  const tailOffset = ringOffset + 4096 * Math.ceil(ring / 4096);
  if (tailOffset > file.length) throw new Error('file shorter than its layout');
  const valid = [];
  for (let slot = 0; slot < entries; slot++) {
    const at = 4096 + 16 * slot;
    const offset = Number(file.readBigUInt64LE(at));
    const length = Number(file.readBigUInt64LE(at + 8));
    if (length === 0) continue;
    if (length > pageMask || offset + length > writeOffset) throw new Error(`entry ${slot} out of bounds`);
    if (offset < writeOffset - ring) continue; // overwritten since: not valid
    const payload = Buffer.alloc(length);
    for (let i = 0; i < length; i++) payload[i] = file[ringOffset + ((offset + i) % ring)] as number;
    valid.push({ slot, offset, length, payload });
  }
  valid.sort((x, y) => x.offset - y.offset);
  return { entries, ring, writeOffset, valid, ringOffset, tailOffset };
}

/** The committed prime table of a primes-snapshot backup: [] when empty. */
export function primeTable(backup: string): bigint[] {
  const file = fs.readFileSync(backup);
  const d = decode(file);
  if (d === null) return [];
  const newest = d.valid[d.valid.length - 1];
  if (newest === undefined) throw new Error('a backup without a valid entry');
  const count = Number(newest.payload.readBigUInt64BE(0));
  const out: bigint[] = [];
  for (let i = 0; i < count; i++) out.push(file.readBigUInt64LE(d.tailOffset + 8 * i));
  return out;
}

/** Throws unless `table` is exactly the first table.length primes. */
export function checkPrimes(table: bigint[]): void {
  if (table.length === 0) return;
  const max = Number(table[table.length - 1]);
  const composite = new Uint8Array(max + 1);
  let i = 0;
  for (let n = 2; n <= max; n++) {
    if (composite[n] === 1) continue;
    for (let m = n * n; m <= max; m += n) composite[m] = 1;
    if (table[i] !== BigInt(n)) throw new Error(`entry ${i} is ${table[i]}, expected the prime ${n}`);
    i++;
  }
  if (i !== table.length) throw new Error(`table has ${table.length} values, only ${i} primes up to ${max}`);
}

export function tempFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.includes('.shm-restore-') && n.endsWith('.tmp'));
}
