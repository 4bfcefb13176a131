// What a push worker thread is asked to do (worker.ts runs it). Kept apart
// from the loops that run the jobs so that starting a thread (start-worker.ts)
// depends on no loop: a loop may start a thread of its own (the receiver's
// sha256 hashing thread) without an import circle.
import type { ChecksumId } from './constants';

export interface SendJob {
  op: 'send';
  fileFd: number;
  size: number;
  /** BigInt64Array over it: bytes sent per slot, written with Atomics.store. */
  progress: SharedArrayBuffer;
  /** Largest count per sendfile call. */
  chunk: number;
  /** A slot that accepts no byte for this long fails with ERR_RMMAP_PUSH_TIMEOUT. */
  idleTimeoutMs: number;
  /** Set on exactly one sender thread: it computes the file's checksum. */
  checksum?: ChecksumId;
}

export interface ReceiveJob {
  op: 'receive';
  /** A dup of the accepted socket; this worker closes it. */
  fd: number;
  dir: string;
  overwrite: boolean;
  fsync: boolean;
  maxSize: number;
  /** sha256 (hex) of the token every push must carry; undefined: no token needed. */
  tokenDigest?: string;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Blocks are reserved this far ahead of the data received (limits.ts); never on tmpfs. */
  reserveWindow: number;
  /** BigInt64Array over it: [bytes received, total size]. */
  progress: SharedArrayBuffer;
  /** Int32Array over it: [stop]; the owner sets it to 1 to make this transfer give up. */
  stop: SharedArrayBuffer;
}

export interface HashJob {
  op: 'hash';
  /** A dup of the file, owned (and closed) by the hash thread. */
  fd: number;
  size: number;
  checksum: ChecksumId;
  state: SharedArrayBuffer;
}

export type Job = SendJob | ReceiveJob | HashJob;
