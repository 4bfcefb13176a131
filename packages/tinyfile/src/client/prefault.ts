// A large allocation comes back from the kernel page by page: the first
// write to each page faults, and the kernel zeroes it. When that happens in
// the copy out of a segment it is on the critical path, after tinyd has
// answered (a quarter of a 1 MiB decompress here); touching the pages while
// tinyd still works moves that cost off it. Same CPU, less waiting.

/** Regions smaller than this are not worth a pass: small allocations come from Node's pool or warm heap pages. */
export const PREFAULT_MIN = 64 * 1024;

/** No larger than any page size Linux uses, so that every page gets a write. */
const STRIDE = 4096;

/** Writes one byte in every page of `buf[from, to)`; the caller overwrites the region afterwards. */
export function prefault(buf: Uint8Array, from: number, to: number): void {
  const end = Math.min(to, buf.length);
  if (end - from < PREFAULT_MIN) return;
  for (let i = from; i < end; i += STRIDE) buf[i] = 0;
  buf[end - 1] = 0;
}
