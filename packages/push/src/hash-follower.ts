// A thread that hashes a file while another thread is still writing it (the
// receiver), or a whole file next to the sendfile loop (the sender), so the
// checksum costs a second core rather than time after the data.
import { parentPort } from 'node:worker_threads';

import * as sys from '@shmkit/shm-fd/sys';

import { CHECKSUMS, type ChecksumId } from './constants';
import type { HashJob } from './jobs';
import { checkStop } from './fdio';
import { FileHasher } from './hash';

/** Files below this are hashed inline: a thread's start-up would cost more. */
export const FOLLOW_MIN_SIZE = 16 * 1024 * 1024;

/**
 * Whether a push hashes in a thread of its own. Only sha256 of a big file:
 * crc32 runs at several GB/s, so hashing it inline, right behind the copy
 * while the bytes are still in the CPU cache, costs less CPU than a thread's
 * start-up, its cold re-read of the file and the hand-over (measured in
 * PUSH.md, "Tuning").
 */
export function wantsFollower(size: number, checksum: ChecksumId): boolean {
  return size >= FOLLOW_MIN_SIZE && CHECKSUMS[checksum].name === 'sha256';
}
const STEP = 4 * 1024 * 1024;

/**
 * Shared state, one SharedArrayBuffer:
 *   BigInt64 [0]  bytes of the file that are final (written by the producer)
 *   Int32    [2]  status: RUNNING, DONE, FAILED; or CANCEL set by the producer
 *   bytes 16..    the digest once status is DONE
 */
export const FollowStatus = { RUNNING: 0, DONE: 1, FAILED: 2, CANCEL: 3 } as const;
const STATUS = 2;
const DIGEST_AT = 16;

export function followState(): SharedArrayBuffer {
  return new SharedArrayBuffer(DIGEST_AT + 64);
}

/** Producer side: publish that [0, landed) is final and wake the hasher. */
export function publishLanded(state: SharedArrayBuffer, landed: number): void {
  const big = new BigInt64Array(state, 0, 1);
  // The hasher reads only bytes below this mark, so storing it after the
  // bytes were written (splice returned) is the only ordering needed.
  Atomics.store(big, 0, BigInt(landed));
  Atomics.notify(big, 0);
}

/** Producer side: ask the hasher to stop (the transfer failed). */
export function cancelFollower(state: SharedArrayBuffer): void {
  const i32 = new Int32Array(state, 0, 4);
  Atomics.compareExchange(i32, STATUS, FollowStatus.RUNNING, FollowStatus.CANCEL);
  Atomics.notify(new BigInt64Array(state, 0, 1), 0);
}

/**
 * Producer side (a worker thread): blocks until the digest is ready; null if
 * the hasher failed or timed out. Throws FdStopped if this thread is told to stop.
 */
export function awaitDigest(state: SharedArrayBuffer, checksum: ChecksumId, timeoutMs: number): Buffer | null {
  const i32 = new Int32Array(state, 0, 4);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    checkStop();
    const s = Atomics.load(i32, STATUS);
    if (s === FollowStatus.DONE) return Buffer.from(state, DIGEST_AT, CHECKSUMS[checksum].digestLen);
    if (s !== FollowStatus.RUNNING) return null;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    Atomics.wait(i32, STATUS, FollowStatus.RUNNING, Math.min(left, 1000));
  }
}

export function runHasher(job: HashJob): void {
  const big = new BigInt64Array(job.state, 0, 1);
  const i32 = new Int32Array(job.state, 0, 4);
  let status: number = FollowStatus.FAILED;
  let digest: Buffer | undefined;
  try {
    const h = new FileHasher(job.fd, job.checksum);
    for (;;) {
      if (h.hashed >= job.size) {
        digest = h.digest();
        status = FollowStatus.DONE;
        break;
      }
      if (Atomics.load(i32, STATUS) === FollowStatus.CANCEL) {
        status = FollowStatus.CANCEL;
        break;
      }
      const landed = Number(Atomics.load(big, 0));
      if (h.hashed < landed) {
        if (!h.advance(landed, STEP)) break;
      } else {
        Atomics.wait(big, 0, BigInt(landed), 1000);
      }
    }
  } catch {
    status = FollowStatus.FAILED;
  }
  // Close before telling anyone: once told, the owner may terminate() us,
  // which would skip anything still to run here.
  sys.close(job.fd);
  if (digest !== undefined) digest.copy(Buffer.from(job.state, DIGEST_AT, digest.length));
  // The digest bytes are written before the status that publishes them.
  Atomics.store(i32, STATUS, status);
  Atomics.notify(i32, STATUS);
  parentPort?.postMessage({ digest: digest?.toString('hex') ?? null });
}
