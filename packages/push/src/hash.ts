import crypto from 'node:crypto';
import fs from 'node:fs';

import { nativeCrc32 } from './native-crc32';
import { CHECKSUMS, type ChecksumId } from './constants';
import { Xxh64 } from './xxh64/xxh64';

/** Small enough to stay in L2 between pread and hashing (8 MiB reads were 40% slower). */
const CHUNK = 256 * 1024;

/**
 * Bytes to hash are put in `window` (read into it from a file or socket),
 * then `hashWindow(n)` hashes window[0, n). xxh64 hashes its own memory in
 * place (WebAssembly sees nothing else); the others hash from a buffer.
 */
export interface Checksum {
  readonly window: Uint8Array;
  hashWindow(n: number): void;
  digest(): Buffer;
}

// crc32 is offered for zlib's speed only: without zlib.crc32 (Node < 20.15) it is refused, rather than run through the slow table fallback.
const crc32 = nativeCrc32;

export function checksumAvailable(id: ChecksumId): boolean {
  return CHECKSUMS[id].name !== 'crc32' || crc32 !== undefined;
}

/** `window`: the most bytes hashed at a time. */
export function createChecksum(id: ChecksumId, window = CHUNK): Checksum {
  const name = CHECKSUMS[id].name;
  if (name === 'xxh64') return new Xxh64(window);
  const buf = Buffer.allocUnsafe(window);
  if (name === 'crc32') {
    const fn = crc32;
    if (fn === undefined) throw new Error('crc32 needs Node 20.15 or later (zlib.crc32)');
    let value = 0;
    return {
      window: buf,
      hashWindow: (n) => {
        value = fn(buf.subarray(0, n), value);
      },
      digest: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out;
      },
    };
  }
  const h = crypto.createHash(name);
  return { window: buf, hashWindow: (n) => h.update(buf.subarray(0, n)), digest: () => h.digest() };
}

/**
 * Hashes an open file front to back in steps, so a receiver can hash what
 * has landed while it waits for more. pread rather than mmap: a file
 * truncated underneath us must surface as an error, not as SIGBUS.
 */
export class FileHasher {
  readonly #fd: number;
  readonly #sum: Checksum;
  /** Bytes [0, hashed) are in the checksum. */
  hashed = 0;

  constructor(fd: number, id: ChecksumId) {
    this.#fd = fd;
    this.#sum = createChecksum(id);
  }

  /** Hashes up to `limit` more bytes, not past `end`. False when the file ended early. */
  advance(end: number, limit = Number.MAX_SAFE_INTEGER): boolean {
    const stop = Math.min(end, this.hashed + limit);
    while (this.hashed < stop) {
      const n = fs.readSync(this.#fd, this.#sum.window, 0, Math.min(CHUNK, stop - this.hashed), this.hashed);
      if (n === 0) return false;
      this.#sum.hashWindow(n);
      this.hashed += n;
    }
    return true;
  }

  digest(): Buffer {
    return this.#sum.digest();
  }
}
