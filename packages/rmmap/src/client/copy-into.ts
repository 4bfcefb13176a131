/**
 * Copies the overlap of `src` (which holds bytes [srcStart, srcStart+len))
 * into `out` (which holds bytes [outStart, outEnd)).
 */
export function copyInto(out: Buffer, outStart: number, outEnd: number, srcStart: number, src: Buffer): void {
  const from = Math.max(outStart, srcStart);
  const to = Math.min(outEnd, srcStart + src.length);
  if (to <= from) return;
  // Buffer#copy takes offsets: no view objects on this per-page path.
  src.copy(out, from - outStart, from - srcStart, to - srcStart);
}
