// What every receiver adds up, so a row counts only messages that arrived
// whole and in full: each message carries its sequence number in its first
// 4 bytes and the number's low byte as its last byte.

/** Stamps message number `i` into `msg` (≥ 5 bytes). */
export function stamp(msg: Buffer, i: number): void {
  msg.writeUInt32LE(i >>> 0, 0);
  msg[msg.length - 1] = i & 0xff;
}

/** Adds the message at buf[start, start + len) to the running sum. */
export function addTo(sum: number, buf: Uint8Array, start: number, len: number): number {
  const seq = ((buf[start] as number) | ((buf[start + 1] as number) << 8) | ((buf[start + 2] as number) << 16) | ((buf[start + 3] as number) << 24)) >>> 0;
  // + 1: message 0 counts too.
  return (sum + seq + (buf[start + len - 1] as number) + 1) >>> 0;
}

/** The sum of messages 0 … count-1. */
export function expectedSum(count: number): number {
  let s = 0;
  for (let i = 0; i < count; i++) s = (s + i + (i & 0xff) + 1) >>> 0;
  return s;
}
