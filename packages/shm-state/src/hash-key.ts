// Turning a HashMap key into bytes and a hash without allocating.

/**
 * Writes an ASCII `key` into `into` with a plain loop (for short keys far
 * cheaper than the native UTF-8 encoder); -1 when the key has other
 * characters or more than `max` of them.
 */
export function asciiInto(key: string, into: Uint8Array, max: number): number {
  const n = key.length;
  if (n > max) return -1;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return -1;
    into[i] = c;
  }
  return n;
}

/** FNV-1a, 32-bit, of the first `len` bytes: small keys, no allocation. */
export function fnv1a(k: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ (k[i] as number), 0x01000193);
  return h | 0;
}
