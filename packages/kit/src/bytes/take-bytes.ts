/**
 * Removes the first `n` bytes from a queue of received chunks and returns
 * them: a zero-copy view when they lie in the first chunk, one copy when they
 * span chunks. The caller has checked that `n` bytes
 * are buffered.
 */
export function takeBytes(chunks: Buffer[], n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const first = chunks[0] as Buffer;
  if (first.length >= n) {
    if (first.length === n) chunks.shift();
    else chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  while (at < n) {
    const c = chunks[0] as Buffer;
    const take = Math.min(c.length, n - at);
    c.copy(out, at, 0, take);
    at += take;
    if (take === c.length) chunks.shift();
    else chunks[0] = c.subarray(take);
  }
  return out;
}
