import * as sys from '@shmkit/shm-fd/sys';

import { CHECKSUMS, type ChecksumId } from './constants';
import { createChecksum, FileHasher, type Checksum } from './hash';
import { awaitDigest, cancelFollower, followState, publishLanded, wantsFollower } from './hash-follower';
import { startWorker } from './start-worker';

/**
 * The receiver's checksum of the file being written. xxh64 and crc32 are
 * computed from the received bytes while they are in memory on their way
 * to the file (`window`: xxh64 hashes its own memory in place); sha256 from
 * the file: in a second thread that follows the write offset for big files,
 * inline whenever the socket is momentarily empty for small ones.
 */
export interface Verifier {
  /**
   * Present when the checksum wants the bytes as they arrive: the receiver
   * reads the socket into `inline.window`, calls `inline.hashWindow(n)` and
   * writes the file from the window, rather than splicing (see
   * receive-loop.ts for why that is cheaper with these checksums).
   */
  readonly inline?: Pick<Checksum, 'window' | 'hashWindow'>;
  /** [0, offset) is in the file. */
  landed(offset: number): void;
  /** The socket is empty: do some hashing if that helps; true if it did. */
  idle(offset: number): boolean;
  /** The digest of [0, size); null when hashing failed. */
  finish(size: number, timeoutMs: number): Buffer | null;
  /** The transfer failed: stop hashing. */
  cancel(): void;
}

const INLINE_STEP = 1024 * 1024;
/** One socket read's worth: large enough for few syscalls, small enough to hash while it is cached. */
const RECEIVE_WINDOW = 1024 * 1024;

export function createVerifier(fileFd: number, size: number, checksum: ChecksumId): Verifier {
  if (CHECKSUMS[checksum].name !== 'sha256') {
    const sum = createChecksum(checksum, Math.max(Math.min(RECEIVE_WINDOW, size), 32));
    let hashed = 0;
    return {
      inline: {
        window: sum.window,
        hashWindow: (n) => {
          sum.hashWindow(n);
          hashed += n;
        },
      },
      landed: () => undefined,
      idle: () => false,
      finish: (total) => (hashed === total ? sum.digest() : null),
      cancel: () => undefined,
    };
  }
  if (!wantsFollower(size, checksum)) {
    const h = new FileHasher(fileFd, checksum);
    return {
      landed: () => undefined,
      idle: (offset) => {
        if (h.hashed >= offset) return false;
        h.advance(offset, INLINE_STEP);
        return true;
      },
      finish: (total) => (h.advance(total) ? h.digest() : null),
      cancel: () => undefined,
    };
  }
  const state = followState();
  // The thread owns the dup and closes it; our fd may be closed first.
  startWorker({ op: 'hash', fd: sys.dup(fileFd), size, checksum, state });
  return {
    landed: (offset) => publishLanded(state, offset),
    idle: () => false,
    finish: (_total, timeoutMs) => awaitDigest(state, checksum, timeoutMs),
    cancel: () => cancelFollower(state),
  };
}
