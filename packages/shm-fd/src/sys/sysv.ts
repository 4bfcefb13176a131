import fs from 'node:fs';

import { ShmArgumentError } from '../errors';
import { check, pageSize } from './calls';
import * as C from './constants';
import { libc } from './libc';
import { Mapping } from './memory';
import { getScratch } from './scratch';

/**
 * System V shared memory: segments named by a numeric key instead of a path.
 * They live until removed with IPC_RMID (and the last process detaches), not
 * until the creator exits; see sysvRemove().
 */

/** What IPC_STAT reports about a segment. */
export interface SysvStat {
  key: number;
  id: number;
  size: number;
  mode: number;
  uid: number;
  creatorPid: number;
  lastPid: number;
  attached: number;
}

/** Keys are key_t (a C int); accept the unsigned spelling ftok(3) and ipcs(1) use too. */
export function validateSysvKey(key: number): number {
  if (typeof key !== 'number' || !Number.isInteger(key) || key < -0x80000000 || key > 0xffffffff) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', `System V key must be an integer in [-2^31, 2^32), got ${String(key)}`);
  }
  if (key === C.IPC_PRIVATE) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', 'System V key 0 is IPC_PRIVATE, which cannot be opened by other processes; use a non-zero key');
  }
  return key | 0;
}

function hexKey(key: number): string {
  return `0x${(key >>> 0).toString(16).padStart(8, '0')}`;
}

/** shmget(2): the id of the segment with `key`; `flags` may hold IPC_CREAT | IPC_EXCL | mode bits. */
export function shmget(key: number, size: number, flags: number): number {
  const k = validateSysvKey(key);
  return check(libc().shmget(k, size, flags), 'shmget', `getting System V segment key ${hexKey(k)} (${size} bytes)`);
}

/** shmctl(IPC_STAT) decoded. Offsets are glibc's struct shmid_ds, identical on x86_64 and aarch64. */
export function sysvStat(id: number): SysvStat {
  const s = getScratch();
  // The scratch page is only used between these two synchronous calls.
  s.buf.fill(0, 0, 128);
  check(libc().shmctl(id, C.IPC_STAT, s.addr), 'shmctl', `reading the status of System V segment id ${id}`);
  return {
    key: s.buf.readInt32LE(0),
    id,
    uid: s.buf.readUInt32LE(4),
    // mode is a u16 on x86_64 and a u32 on aarch64; its bits fit in the low half either way.
    mode: s.buf.readUInt16LE(20) & 0o777,
    size: Number(s.buf.readBigUInt64LE(48)),
    creatorPid: s.buf.readInt32LE(80),
    lastPid: s.buf.readInt32LE(84),
    attached: Number(s.buf.readBigUInt64LE(88)),
  };
}

/**
 * Attaches segment `id` and wraps it in a Mapping of `length` bytes (default:
 * the whole segment). close() on the Mapping detaches the segment.
 */
export function sysvAttach(id: number, options: { length?: number } = {}): Mapping {
  const st = sysvStat(id);
  const length = options.length ?? st.size;
  if (!Number.isSafeInteger(length) || length <= 0 || length > st.size) {
    throw new ShmArgumentError('ERR_OUT_OF_RANGE', `cannot attach ${length} bytes of System V segment id ${id}: it has ${st.size} bytes`);
  }
  // Always read-write: a SHM_RDONLY attachment would turn a stray Buffer write into SIGSEGV.
  const addr = check(libc().shmat(id, 0, 0), 'shmat', `attaching System V segment id ${id}`);
  const page = pageSize();
  // The kernel attaches whole pages; the Mapping must cover all of them so close() detaches everything.
  const whole = Math.ceil(st.size / page) * page;
  return new Mapping(addr, whole, 0, length, 0, true, `System V segment id ${id} (${st.size} bytes)`);
}

/** shmdt(2) for an address that was never adopted into a Mapping. */
export function shmdt(addr: number): void {
  check(libc().shmdt(addr), 'shmdt', 'detaching a System V segment');
}

/**
 * Marks the segment for removal (IPC_RMID): its key is free at once, the
 * memory goes when the last process detaches.
 */
export function sysvRemove(id: number): void {
  check(libc().shmctl(id, C.IPC_RMID, 0), 'shmctl', `removing System V segment id ${id}`);
}

/** The kernel's limit on one segment's size in bytes (kernel.shmmax). */
export function sysvMaxSize(): number {
  try {
    const v = Number(fs.readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim());
    return Number.isFinite(v) ? Math.min(v, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}
