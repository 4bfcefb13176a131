// What the client's calls share to run chunks through segments: the
// per-chunk prepare/complete callbacks, error decoding and small helpers.
import { maxCompressedLength } from '../codec/codec';
import { varintLength, writeVarint } from '../codec/varint';
import { CorruptInputError, TinyFileError } from '../errors';
import { OP, STATUS_NAME } from '../protocol/layout';
import type { SlotHeader } from '../protocol/slot-header';
import type { FrameBatch } from '../codec/frame-splitter';
import type { Channel } from './channel';

/** What a completed chunk's callback receives; valid only during the callback. */
export interface Done {
  data: Buffer;
  slot: SlotHeader;
  outLen: number;
}

/** Requests up to this size are answered fast enough to be worth a short spin (see Channel.spinFor). */
const SPIN_MAX_BYTES = 16 * 1024;

/** Whether a prepared request is small enough that its answer is worth spinning for (the daemon estimates work the same way). */
export function smallWork(slot: SlotHeader, op: number): boolean {
  const inLen = slot.inLen;
  const work = op === OP.DECOMPRESS_RAW ? slot.outLimit : op === OP.DECOMPRESS_FRAMED ? 4 * inLen : inLen;
  return work <= SPIN_MAX_BYTES;
}

export type Prepare = (data: Buffer, slot: SlotHeader) => void;

export function failure(ch: Channel, data: Buffer, slot: SlotHeader, base: number): TinyFileError {
  const dead = ch.dead;
  if (dead !== undefined) return dead;
  const code = STATUS_NAME[slot.status] ?? 'ERR_TINYFILE_INTERNAL';
  const len = Math.max(0, Math.min(slot.outLen, 2000));
  const message = data.toString('utf8', 0, len) || 'tinyd failed the request';
  const at = slot.errOffset;
  if (code === 'ERR_TINYFILE_CORRUPT_INPUT' || code === 'ERR_TINYFILE_BAD_CHECKSUM' || code === 'ERR_TINYFILE_WINDOW') {
    return new CorruptInputError(message, at >= 0 ? base + at : undefined, code);
  }
  return new TinyFileError(code === 'OK' ? 'ERR_TINYFILE_INTERNAL' : code, message);
}

/** What the file and stream calls (and, with BlockChunker, the buffer calls) need from a connected TinyFile. */
export interface Chunker {
  /** The live channel, reconnecting if allowed. */
  ready(): Promise<Channel>;
  readySync(): Channel;
  /**
   * One chunk through one slot. `complete` runs while the slot's data is
   * still ours; `meanwhile` runs once the request is out, while tinyd works.
   */
  chunk<T>(op: number, prepare: Prepare, complete: (d: Done) => T, base?: number, group?: number, meanwhile?: () => void): Promise<T>;
  chunkSync<T>(op: number, prepare: Prepare, complete: (d: Done) => T, base?: number, meanwhile?: () => void): T;

  /** Input bytes per compress chunk for the granted segment size. */
  chunkSize(): number;
  /** Segments granted by the daemon and their size. */
  segments(): { count: number; size: number };
}

export function checkInput(input: unknown): asserts input is Uint8Array {
  if (!(input instanceof Uint8Array)) throw new TinyFileError('ERR_INVALID_ARG_TYPE', 'input must be a Buffer or Uint8Array');
}

/**
 * A caller's output buffer (`…Into` calls) must hold `needed` bytes and must
 * not overlap the input, which is still read while output is written.
 * `what` says where `needed` comes from; `sizeWith` names the call that gives it.
 */
export function checkTarget(input: Uint8Array, target: unknown, needed: number, what: string, sizeWith: string): asserts target is Uint8Array {
  if (!(target instanceof Uint8Array)) throw new TinyFileError('ERR_INVALID_ARG_TYPE', 'target must be a Buffer or Uint8Array');
  if (needed > target.byteLength) {
    throw new TinyFileError('ERR_TINYFILE_BUFFER_TOO_SMALL', `${what} but the target holds only ${target.byteLength}; size it with ${sizeWith}`);
  }
  const overlap = target.buffer === input.buffer && target.byteOffset < input.byteOffset + input.byteLength && input.byteOffset < target.byteOffset + needed;
  if (overlap && needed > 0) throw new TinyFileError('ERR_INVALID_ARG_VALUE', 'target overlaps the input; use separate memory');
}

export function compressPrepare(piece: Uint8Array): Prepare {
  return (data, slot) => {
    data.set(piece, 0);
    slot.inLen = piece.length;
  };
}

/** The prepares of `input` cut into `count` pieces of `size` bytes (the last may be shorter). */
export function cutPrepares(input: Uint8Array, size: number, count: number): Prepare[] {
  return Array.from({ length: count }, (_, i) => compressPrepare(input.subarray(i * size, Math.min(input.length, (i + 1) * size))));
}

/** A compressInto() target holds the most any block of the input can take. */
export function checkCompressTarget(input: Uint8Array, target: unknown): asserts target is Uint8Array {
  const bound = maxCompressedLength(input.length);
  checkTarget(input, target, bound, `a block of ${input.length} input bytes can take up to ${bound} bytes`, 'maxCompressedLength(input.length)');
}

export function framedPrepare(batch: FrameBatch): Prepare {
  return (data, slot) => {
    batch.data.copy(data, 0);
    slot.inLen = batch.data.length;
  };
}

export function varintHead(n: number): Buffer {
  const head = Buffer.allocUnsafe(varintLength(n));
  writeVarint(n, head, 0);
  return head;
}

export function copyOut(d: Done): Buffer {
  return Buffer.from(d.data.subarray(0, d.outLen));
}

/** Awaits all; on failure still waits for the rest so no slot is left mid-request, then throws the first error. */
export async function settleAll<T>(ps: Array<Promise<T>>): Promise<T[]> {
  const r = await Promise.allSettled(ps);
  const bad = r.find((x) => x.status === 'rejected');
  if (bad !== undefined) throw (bad as PromiseRejectedResult).reason;
  return r.map((x) => (x as PromiseFulfilledResult<T>).value);
}
