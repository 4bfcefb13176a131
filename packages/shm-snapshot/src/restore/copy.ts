import * as sys from '@shmkit/shm-fd/sys';

// sendfile moves at most this much per call (Linux caps a transfer at 2 GiB − 4 KiB).
const CHUNK = 0x7fff0000;

/**
 * Copies bytes [from, to) of `inFd` to the same offsets of `outFd` in the
 * kernel (sendfile), skipping holes: never-touched pages of a memfd are not
 * read, and stay holes in the copy. `outFd` must already be sized; holes
 * read back as zeros, exactly as in the source.
 */
export function copyRange(inFd: number, outFd: number, from: number, to: number): number {
  let copied = 0;
  for (const extent of sys.dataExtents(inFd, from, to)) {
    // sendfile writes at outFd's file position; put it where the extent goes.
    sys.lseek(outFd, extent.offset, sys.SEEK_SET);
    let at = extent.offset;
    const end = extent.offset + extent.length;
    while (at < end) {
      const n = sys.sendfile(outFd, inFd, at, Math.min(CHUNK, end - at));
      if (n === null) continue;
      if (n === 0) return copied; // the source shrank under us
      at += n;
      copied += n;
    }
  }
  return copied;
}
