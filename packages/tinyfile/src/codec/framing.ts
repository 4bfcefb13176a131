// The snappy framing format, google/snappy@27f34a580be4a3becf5f8c0cba13433f53c21337
// framing_format.txt. Files and streams use it so they interoperate with
// other snappy tools (python-snappy's stream_compress, Go's snappy.Writer).
import { CorruptInputError } from '../errors';
import { maxCompressedLength, type Codec } from './codec';
import { crc32c, maskChecksum } from './crc32c';
import { NATIVE_DECODE_MIN } from './libsnappy';
import { decodeRawBlock } from './raw-decoder';
import { readVarint } from './varint';

/** §4.1: chunk type 0xff, length 6, "sNaPpY". */
export const STREAM_IDENTIFIER = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

export const CHUNK_COMPRESSED = 0x00;
export const CHUNK_UNCOMPRESSED = 0x01;
export const CHUNK_PADDING = 0xfe;
export const CHUNK_STREAM_ID = 0xff;

/** §4.2/§4.3: a data chunk holds at most 65536 uncompressed bytes. */
export const MAX_CHUNK_DATA = 65536;
/** Largest valid data chunk body: checksum + the worst-case raw block of 64 KiB. */
export const MAX_DATA_CHUNK_LENGTH = 4 + maxCompressedLength(MAX_CHUNK_DATA);

/** Upper bound on the framed size of `n` input bytes (each chunk is stored raw when that is smaller). */
export function maxFramedLength(n: number): number {
  return n + 8 * Math.ceil(n / MAX_CHUNK_DATA);
}

/**
 * Frames `input[start, end)` as data chunks into `out` at `at`; returns the
 * end. `scratch` must hold maxCompressedLength(65536) bytes.
 */
export function encodeFrames(codec: Codec, input: Uint8Array, start: number, end: number, out: Uint8Array, at: number, scratch: Uint8Array): number {
  for (let p = start; p < end; p += MAX_CHUNK_DATA) {
    const q = Math.min(end, p + MAX_CHUNK_DATA);
    const piece = input.subarray(p, q);
    const crc = maskChecksum(crc32c(input, p, q));
    const n = codec.compress(piece, scratch);
    // Like the reference writers: keep the compressed form only if it saves at least 1/8.
    const compressed = n < piece.length - (piece.length >>> 3);
    const body = compressed ? n : piece.length;
    const len = 4 + body;
    out[at] = compressed ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED;
    out[at + 1] = len & 0xff;
    out[at + 2] = (len >>> 8) & 0xff;
    out[at + 3] = len >>> 16;
    out[at + 4] = crc & 0xff;
    out[at + 5] = (crc >>> 8) & 0xff;
    out[at + 6] = (crc >>> 16) & 0xff;
    out[at + 7] = crc >>> 24;
    out.set(compressed ? scratch.subarray(0, n) : piece, at + 8);
    at += 8 + body;
  }
  return at;
}

/** tinyfile's decoder on one compressed chunk; its errors name the chunk's offset in the stream. */
function decodeChunk(block: Uint8Array, out: Uint8Array, value: number, next: number, chunkAt: number): number {
  try {
    return decodeRawBlock(block, out, value, next);
  } catch (err) {
    if (err instanceof CorruptInputError) throw new CorruptInputError(`${err.message.replace(/ \(at input byte \d+\)$/, '')} in the chunk`, chunkAt);
    throw err;
  }
}

function readU32LE(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/**
 * A native decoder for the compressed chunks, and private memory of
 * maxCompressedLength(65536) bytes each chunk is copied to before it reads
 * it (the input may be shared memory another process writes).
 */
export interface NativeChunkDecoder {
  codec: Codec;
  scratch: Uint8Array;
}

/**
 * Decodes a sequence of whole data chunks `input[0, inEnd)` into `out`.
 * Returns the bytes written. `inputBase` is where `input` starts in the
 * stream, for error offsets. With `native`, compressed chunks of at least
 * NATIVE_DECODE_MIN bytes go through it first; a chunk it does not decode to its declared length goes through
 * tinyfile's decoder, which reports what is wrong and where.
 */
export function decodeFrames(input: Uint8Array, inEnd: number, out: Uint8Array, inputBase = 0, native?: NativeChunkDecoder): number {
  let at = 0;
  let outPos = 0;
  while (at < inEnd) {
    if (at + 4 > inEnd) throw new CorruptInputError('truncated chunk header', inputBase + at);
    const type = input[at]!;
    const len = input[at + 1]! | (input[at + 2]! << 8) | (input[at + 3]! << 16);
    const body = at + 4;
    if (body + len > inEnd) throw new CorruptInputError(`chunk of ${len} bytes runs past the end of the data`, inputBase + at);
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (len < 4) throw new CorruptInputError(`data chunk of ${len} bytes is too short for its checksum`, inputBase + at);
      if (len > MAX_DATA_CHUNK_LENGTH) throw new CorruptInputError(`data chunk of ${len} bytes exceeds the ${MAX_DATA_CHUNK_LENGTH}-byte limit`, inputBase + at);
      const expected = readU32LE(input, body);
      let n: number;
      if (type === CHUNK_UNCOMPRESSED) {
        n = len - 4;
        // §4.3: at most 65536 bytes of data.
        if (n > MAX_CHUNK_DATA) throw new CorruptInputError(`uncompressed chunk of ${n} bytes exceeds 65536`, inputBase + at);
        if (outPos + n > out.length) throw new CorruptInputError('chunks decode to more than the output holds', inputBase + at);
        out.set(input.subarray(body + 4, body + len), outPos);
      } else {
        const block = input.subarray(body + 4, body + len);
        const { value, next } = readVarint(block);
        // §4.2: the uncompressed data of a chunk must not exceed 65536 bytes.
        if (value > MAX_CHUNK_DATA) throw new CorruptInputError(`compressed chunk declares ${value} bytes, more than 65536`, inputBase + at);
        if (outPos + value > out.length) throw new CorruptInputError('chunks decode to more than the output holds', inputBase + at);
        n = -1;
        if (native !== undefined && value >= NATIVE_DECODE_MIN) {
          native.scratch.set(block, 0);
          // The private copy's preamble is the one the C decoder reads: anything but `value` bytes is a failure.
          if (native.codec.decompress!(native.scratch.subarray(0, block.length), out.subarray(outPos, outPos + value)) === value) n = value;
        }
        if (n < 0) n = decodeChunk(block, out.subarray(outPos, outPos + value), value, next, inputBase + at);
      }
      const actual = maskChecksum(crc32c(out, outPos, outPos + n));
      if (actual !== expected) {
        throw new CorruptInputError(
          `checksum mismatch: chunk says 0x${expected.toString(16)}, data gives 0x${actual.toString(16)}`,
          inputBase + at,
          'ERR_TINYFILE_BAD_CHECKSUM',
        );
      }
      outPos += n;
    } else if (type >= 0x02 && type <= 0x7f) {
      // §4.5: reserved unskippable chunks must make the decoder fail.
      throw new CorruptInputError(`reserved unskippable chunk type 0x${type.toString(16)}`, inputBase + at);
    }
    // §4.4 / §4.6: padding, skippable and repeated stream identifiers carry no data.
    at = body + len;
  }
  return outPos;
}
