/**
 * Payload bytes in the data ring. Stream byte s lives at
 * dataOffset + (s & mask); a payload may wrap around the ring's end.
 *
 * These are plain byte copies, not Atomics: payload bytes are only trusted
 * through an entry that was valid before and after they were read, and
 * the writer invalidates an entry before it overwrites any of its bytes.
 */
export function readRing(mem: Uint8Array, dataOffset: number, mask: number, offset: number, into: Uint8Array, length: number): void {
  const ringBytes = mask + 1;
  const at = offset % ringBytes;
  const first = Math.min(length, ringBytes - at);
  into.set(mem.subarray(dataOffset + at, dataOffset + at + first), 0);
  if (first < length) into.set(mem.subarray(dataOffset, dataOffset + (length - first)), first);
}

export function writeRing(mem: Uint8Array, dataOffset: number, mask: number, offset: number, bytes: Uint8Array): void {
  const ringBytes = mask + 1;
  const at = offset % ringBytes;
  const length = bytes.length;
  if (length <= 16 && at + length <= ringBytes) {
    // Small payloads: a loop beats set()'s call overhead.
    const base = dataOffset + at;
    for (let i = 0; i < length; i++) mem[base + i] = bytes[i] as number;
    return;
  }
  const first = Math.min(length, ringBytes - at);
  mem.set(bytes.subarray(0, first), dataOffset + at);
  if (first < length) mem.set(bytes.subarray(first), dataOffset);
}
