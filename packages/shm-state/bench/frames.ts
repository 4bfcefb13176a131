// The tuned Unix-socket baseline's framing, written as an experienced user
// writes it: [u32 length][payload] frames, many frames coalesced into one
// write, and frames parsed in place from the received chunks (a frame split
// across chunks is assembled in one preallocated buffer), so receiving
// allocates nothing per message.
import type net from 'node:net';

/** Calls `onFrame(buf, start, length)` for each complete frame; `buf` is valid only during the call. */
export class FrameParser {
  readonly #carry: Buffer;
  #have = 0; // bytes of a split frame held in #carry
  #need = 0; // its total size (header included), 0 while the header itself is split

  constructor(
    maxFrame: number,
    private readonly onFrame: (buf: Buffer, start: number, length: number) => void,
  ) {
    this.#carry = Buffer.allocUnsafe(maxFrame + 4);
  }

  push(d: Buffer): void {
    let at = 0;
    if (this.#have > 0) {
      at = this.#fillCarry(d);
      if (at < 0) return;
    }
    const end = d.length;
    while (end - at >= 4) {
      const len = d.readUInt32LE(at);
      if (len + 4 > this.#carry.length) throw new Error(`frame of ${len} bytes exceeds the ${this.#carry.length - 4}-byte limit`);
      if (end - at - 4 < len) break;
      this.onFrame(d, at + 4, len);
      at += 4 + len;
    }
    if (at < end) {
      d.copy(this.#carry, 0, at, end);
      this.#have = end - at;
      this.#need = this.#have >= 4 ? this.#carry.readUInt32LE(0) + 4 : 0;
    }
  }

  /** Completes the split frame from `d`; returns where the rest of `d` starts, or -1 when `d` was used up. */
  #fillCarry(d: Buffer): number {
    let at = 0;
    if (this.#need === 0) {
      const take = Math.min(4 - this.#have, d.length);
      d.copy(this.#carry, this.#have, 0, take);
      this.#have += take;
      at = take;
      if (this.#have < 4) return -1;
      this.#need = this.#carry.readUInt32LE(0) + 4;
      if (this.#need > this.#carry.length) throw new Error(`frame of ${this.#need - 4} bytes exceeds the ${this.#carry.length - 4}-byte limit`);
    }
    const take = Math.min(this.#need - this.#have, d.length - at);
    d.copy(this.#carry, this.#have, at, at + take);
    this.#have += take;
    at += take;
    if (this.#have < this.#need) return -1;
    this.onFrame(this.#carry, 4, this.#need - 4);
    this.#have = 0;
    this.#need = 0;
    return at;
  }
}

/**
 * Coalesces frames into chunks of at least `chunkBytes` and writes each
 * chunk with one write(); `flush()` writes what is pending. Waits for
 * 'drain' when the socket asks it to.
 */
export class FrameWriter {
  #chunk: Buffer;
  #at = 0;

  constructor(
    private readonly sock: net.Socket,
    private readonly chunkBytes: number,
  ) {
    this.#chunk = Buffer.allocUnsafe(chunkBytes);
  }

  /** Appends one frame; resolves at once unless a full chunk had to wait for the socket. */
  write(payload: Uint8Array): Promise<void> | undefined {
    const need = 4 + payload.byteLength;
    let wait: Promise<void> | undefined;
    if (this.#at + need > this.#chunk.length) wait = this.flush();
    if (need > this.#chunk.length) this.#chunk = Buffer.allocUnsafe(need);
    this.#chunk.writeUInt32LE(payload.byteLength, this.#at);
    this.#chunk.set(payload, this.#at + 4);
    this.#at += need;
    return wait;
  }

  flush(): Promise<void> | undefined {
    if (this.#at === 0) return undefined;
    // The socket keeps the chunk until it is written: start a new one.
    const out = this.#chunk.subarray(0, this.#at);
    this.#chunk = Buffer.allocUnsafe(Math.max(this.chunkBytes, this.#chunk.length));
    this.#at = 0;
    if (this.sock.write(out)) return undefined;
    return new Promise((r) => this.sock.once('drain', r));
  }
}
