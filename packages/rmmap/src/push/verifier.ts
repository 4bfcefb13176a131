import * as sys from '@shmkit/shm-fd/sys';

import type { ChecksumId } from './constants';
import { FileHasher } from './hash';
import { CHECKSUMS } from './constants';
import { awaitDigest, cancelFollower, followState, publishLanded, wantsFollower } from './hash-follower';
import { startWorker } from './start-worker';

/**
 * The receiver's checksum of the file being written: in a second thread that
 * follows the write offset for big files with sha256; otherwise inline, in
 * the receiving thread. crc32 hashes each batch right after it was spliced
 * into the file, while those pages are still in the CPU cache; sha256 of a
 * small file hashes whenever the socket is momentarily empty.
 */
export interface Verifier {
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

export function createVerifier(fileFd: number, size: number, checksum: ChecksumId): Verifier {
  if (!wantsFollower(size, checksum)) {
    const h = new FileHasher(fileFd, checksum);
    const eager = CHECKSUMS[checksum].name === 'crc32';
    return {
      landed: (offset) => {
        // A short file is a failure finish() reports; here it just stops.
        if (eager) h.advance(offset);
      },
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
