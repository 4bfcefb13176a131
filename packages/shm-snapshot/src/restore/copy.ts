import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

// sendfile moves at most this much per call (Linux caps a transfer at 2 GiB − 4 KiB).
const CHUNK = 0x7fff0000;
const ZEROS = Buffer.alloc(1 << 20);

/**
 * Copies bytes [from, to) of `inFd` to the same offsets of `outFd` in the
 * kernel (sendfile), skipping holes: never-touched pages of a memfd are not
 * read, and stay holes in a fresh copy. `outFd` must already be sized.
 *
 * `reused`: `outFd` held older data (a recycled temp file), so ranges that
 * are holes in the source but data in `outFd` are overwritten with zeros;
 * the result then reads exactly like the source either way.
 */
export function copyRange(inFd: number, outFd: number, from: number, to: number, reused = false): number {
  const source = sys.dataExtents(inFd, from, to);
  const stale = reused ? subtract(sys.dataExtents(outFd, from, to), source) : [];
  let copied = 0;
  for (const extent of source) {
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
  for (const z of stale) {
    for (let at = z.offset; at < z.offset + z.length; ) {
      at += fs.writeSync(outFd, ZEROS, 0, Math.min(ZEROS.length, z.offset + z.length - at), at);
    }
  }
  return copied;
}

/** The parts of `a` not covered by `b` (both sorted, non-overlapping). */
function subtract(a: sys.Extent[], b: sys.Extent[]): sys.Extent[] {
  const out: sys.Extent[] = [];
  let j = 0;
  for (const e of a) {
    let start = e.offset;
    const end = e.offset + e.length;
    while (j < b.length && (b[j] as sys.Extent).offset + (b[j] as sys.Extent).length <= start) j++;
    for (let k = j; k < b.length && start < end; k++) {
      const c = b[k] as sys.Extent;
      if (c.offset >= end) break;
      if (c.offset > start) out.push({ offset: start, length: c.offset - start });
      start = Math.max(start, c.offset + c.length);
    }
    if (start < end) out.push({ offset: start, length: end - start });
  }
  return out;
}

export const _subtract = subtract;
