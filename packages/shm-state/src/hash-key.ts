// Turning a HashMap key into bytes and a hash without allocating.
import { ShmStateError } from './errors';

/** FNV-1a, 32-bit, of the first `len` bytes: small keys, no allocation. */
export function fnv1a(k: Uint8Array, len: number): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ (k[i] as number), FNV_PRIME);
  return h | 0;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * Encodes keys of at most `maxLen` bytes: `encode()` returns the bytes and
 * leaves their length in `len` and their FNV-1a hash in `hash`. A string is
 * encoded into a scratch buffer (reused by the next call), so lookups
 * allocate nothing for the key.
 */
export class KeyEncoder {
  len = 0;
  hash = 0;
  // maxLen + 4: a UTF-8 character has at most 4 bytes, so a write that left
  // 4 bytes free wrote the whole string.
  readonly #scratch: Buffer;

  constructor(readonly maxLen: number) {
    this.#scratch = Buffer.alloc(maxLen + 4);
  }

  /** Throws ERR_SHM_STATE_MESSAGE_TOO_LARGE for a key longer than `maxLen` bytes. */
  encode(key: Uint8Array | string): Uint8Array {
    let k: Uint8Array;
    let len: number;
    if (typeof key === 'string') {
      k = this.#scratch;
      len = this.#ascii(key);
      if (len < 0) {
        len = this.#scratch.write(key);
        if (len > this.maxLen) len = Buffer.byteLength(key);
        else this.hash = fnv1a(k, len);
      }
    } else {
      k = key;
      len = key.byteLength;
      if (len <= this.maxLen) this.hash = fnv1a(k, len);
    }
    if (len > this.maxLen) throw new ShmStateError('ERR_SHM_STATE_MESSAGE_TOO_LARGE', `a ${len}-byte key exceeds the map's ${this.maxLen}-byte keys`);
    this.len = len;
    return k;
  }

  /**
   * Writes an ASCII key into the scratch with a plain loop, hashing as it
   * goes (for short keys far cheaper than the native UTF-8 encoder and a
   * second pass); -1 when the key has other characters or is too long.
   */
  #ascii(key: string): number {
    const n = key.length;
    if (n > this.maxLen) return -1;
    const into = this.#scratch;
    let h = FNV_OFFSET;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) return -1;
      into[i] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    this.hash = h | 0;
    return n;
  }
}
