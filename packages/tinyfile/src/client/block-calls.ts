// The buffer calls: raw snappy blocks, compressed and decompressed through
// segments, into a new Buffer or into the caller's.
import { maxCompressedLength } from '../codec/codec';
import { OP } from '../protocol/layout';
import { BlockGather, BlockPlacer, MAX_GATHER_BYTES, type PieceSink, type ScratchPool } from './block-gather';
import type { Channel } from './channel';
import { checkCompressTarget, type Chunker, checkInput, compressPrepare, copyOut, cutPrepares, type Done, type Prepare, settleAll, varintHead } from './chunking';
import { independentPieces, pieceComplete, piecePrepare, RawDecode } from './raw-decode';

/** What the buffer calls need beyond the file calls. */
export interface BlockChunker extends Chunker {
  /**
   * Blocking: all `prepares` out at once, on as many segments as the client
   * has; `complete(i, …)` runs for each answer; throws the first failure once
   * every piece is answered. `meanwhile` runs once the first piece is out.
   */
  chunksSync(op: number, prepares: Prepare[], complete: (i: number, d: Done) => void, base?: (i: number) => number, meanwhile?: () => void): void;
  /** A fresh group id: tinyd answers the pieces of one group together. */
  nextGroup(): number;
  /** The client's scratch for assembling compressed blocks. */
  readonly scratch: ScratchPool;
  /** `ConnectOptions.maxOutputLength`: the most a decompress may allocate. */
  maxOutputLength(): number;
}

/** Compresses `input` into one raw snappy block. */
export async function compress(c: BlockChunker, input: Uint8Array): Promise<Buffer> {
  checkInput(input);
  const ch = await c.ready();
  const { size, count } = cut(c, input.length, ch);
  const stride = maxCompressedLength(size);
  if (count * stride > MAX_GATHER_BYTES) {
    // Chunks are independent (64 KiB-aligned fragments), so all of them are
    // queued at once and run on as many segments and workers as are free.
    const bodies = await settleAll(cutPrepares(input, size, count).map((prepare) => c.chunk(OP.COMPRESS_RAW, prepare, copyOut)));
    return Buffer.concat([varintHead(input.length), ...bodies]);
  }
  const gather = new BlockGather(c.scratch, count, stride);
  try {
    await compressPieces(c, input, ch, size, count, gather);
    return gather.block(input.length);
  } finally {
    gather.release();
  }
}

export function compressSync(c: BlockChunker, input: Uint8Array): Buffer {
  checkInput(input);
  const ch = c.readySync();
  // Cut as compress() cuts, and all pieces out at once: a blocking call uses every worker too.
  const { size, count } = cut(c, input.length, ch);
  const stride = maxCompressedLength(size);
  if (count * stride > MAX_GATHER_BYTES) {
    const bodies = new Array<Buffer>(count);
    c.chunksSync(OP.COMPRESS_RAW, cutPrepares(input, size, count), (i, d) => (bodies[i] = copyOut(d)));
    return Buffer.concat([varintHead(input.length), ...bodies]);
  }
  const gather = new BlockGather(c.scratch, count, stride);
  try {
    compressPiecesSync(c, input, size, count, gather);
    return gather.block(input.length);
  } finally {
    gather.release();
  }
}

/** TinyFile.compressInto(). */
export async function compressInto(c: BlockChunker, input: Uint8Array, target: Uint8Array): Promise<number> {
  checkInput(input);
  checkCompressTarget(input, target);
  const ch = await c.ready();
  const { size, count } = cut(c, input.length, ch);
  const placer = new BlockPlacer(c.scratch, count, maxCompressedLength(size), input.length, target);
  try {
    await compressPieces(c, input, ch, size, count, placer);
    return placer.finish();
  } finally {
    placer.release();
  }
}

/** compressInto(), blocking. */
export function compressIntoSync(c: BlockChunker, input: Uint8Array, target: Uint8Array): number {
  checkInput(input);
  checkCompressTarget(input, target);
  const { size, count } = cut(c, input.length, c.readySync());
  const placer = new BlockPlacer(c.scratch, count, maxCompressedLength(size), input.length, target);
  try {
    compressPiecesSync(c, input, size, count, placer);
    return placer.finish();
  } finally {
    placer.release();
  }
}

/** All `count` pieces of `input` out at once; each answer goes to `sink`. */
async function compressPieces(c: BlockChunker, input: Uint8Array, ch: Channel, size: number, count: number, sink: PieceSink): Promise<void> {
  // One wake-up for the whole call: tinyd answers the pieces together.
  // Only while every piece can be out at once: tinyd holds a group's answers
  // until none of it is queued, which would otherwise turn a long call into
  // lockstep batches of `slots` pieces.
  const group = count > 1 && count <= ch.slots ? c.nextGroup() : 0;
  await settleAll(cutPrepares(input, size, count).map((prepare, i) => c.chunk(OP.COMPRESS_RAW, prepare, (d) => sink.put(i, d.data, d.outLen), 0, group)));
}

function compressPiecesSync(c: BlockChunker, input: Uint8Array, size: number, count: number, sink: PieceSink): void {
  // One piece (every call under 64 KiB) goes straight out: setting up a
  // batch measurably lengthened a 4 KiB call's round trip (16 µs against 14).
  if (count === 1) c.chunkSync(OP.COMPRESS_RAW, compressPrepare(input), (d) => sink.put(0, d.data, d.outLen));
  else c.chunksSync(OP.COMPRESS_RAW, cutPrepares(input, size, count), (i, d) => sink.put(i, d.data, d.outLen));
}

/** Decompresses one raw snappy block. */
export async function decompress(c: BlockChunker, block: Uint8Array): Promise<Buffer> {
  checkInput(block);
  const d = new RawDecode(block, c.maxOutputLength());
  await decode(c, block, d);
  return d.result();
}

export function decompressSync(c: BlockChunker, block: Uint8Array): Buffer {
  checkInput(block);
  const d = new RawDecode(block, c.maxOutputLength());
  decodeSync(c, block, d);
  return d.result();
}

/** TinyFile.decompressInto(). */
export async function decompressInto(c: BlockChunker, block: Uint8Array, target: Uint8Array): Promise<number> {
  checkInput(block);
  const d = new RawDecode(block, { into: target });
  await decode(c, block, d);
  return d.declared;
}

/** decompressInto(), blocking. */
export function decompressIntoSync(c: BlockChunker, block: Uint8Array, target: Uint8Array): number {
  checkInput(block);
  const d = new RawDecode(block, { into: target });
  decodeSync(c, block, d);
  return d.declared;
}

async function decode(c: BlockChunker, block: Uint8Array, d: RawDecode): Promise<void> {
  // An empty block needs no daemon.
  if (d.finished) return;
  const ch = await c.ready();
  const pieces = independentPieces(block, d.inPos, d.declared, ch);
  if (pieces === null) {
    while (!d.finished) await c.chunk(OP.DECOMPRESS_RAW, d.prepare, d.complete, d.inPos, 0, () => d.prefault());
    return;
  }
  // The pieces decode on as many workers as are free, each straight into its place.
  const group = pieces.length <= ch.slots ? c.nextGroup() : 0;
  await settleAll(pieces.map((p, i) => c.chunk(OP.DECOMPRESS_RAW, piecePrepare(block, p), (c) => pieceComplete(c, p, d.result()), p.inStart, group, i === 0 ? () => d.prefaultAll() : undefined)));
}

function decodeSync(c: BlockChunker, block: Uint8Array, d: RawDecode): void {
  if (d.finished) return;
  const pieces = independentPieces(block, d.inPos, d.declared, c.readySync());
  if (pieces === null) {
    while (!d.finished) c.chunkSync(OP.DECOMPRESS_RAW, d.prepare, d.complete, d.inPos, () => d.prefault());
    return;
  }
  c.chunksSync(OP.DECOMPRESS_RAW, pieces.map((p) => piecePrepare(block, p)), (i, c) => pieceComplete(c, pieces[i]!, d.result()), (i) => pieces[i]!.inStart, () => d.prefaultAll());
}

/**
 * How a compress of `length` bytes is cut: over all our segments (in
 * 64 KiB multiples) so that several workers share one large call, and
 * never more than a segment holds. (Cutting it into only as many pieces
 * as tinyd has workers was measured too: no better with one client, worse
 * with two, whose workers then idled while a client turned around
 * between calls.) Pieces start at multiples of 64 KiB, where every snappy
 * compressor starts a fragment anyway, so the block is the same however
 * it is cut.
 */
function cut(c: BlockChunker, length: number, ch: Channel): { size: number; count: number } {
  const pieces = Math.max(Math.ceil(length / c.chunkSize()), Math.min(ch.slots, Math.ceil(length / 65536)));
  const size = Math.ceil(length / Math.max(1, pieces) / 65536) * 65536;
  return { size, count: Math.ceil(length / size) || 0 };
}
