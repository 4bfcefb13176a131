// Whole-buffer helpers that run in the calling thread. tinyd's results are
// byte-identical to these; tests and the bench use them as the reference.
import { TinyFileError } from '../errors';
import { jsCodec, maxCompressedLength, type Codec } from './codec';
import { FrameSplitter } from './frame-splitter';
import { decodeFrames, encodeFrames, maxFramedLength, STREAM_IDENTIFIER } from './framing';
import { decodeRawBlock } from './raw-decoder';
import { readVarint } from './varint';

/** A raw snappy block of `input`. */
export function compressBlock(input: Uint8Array, codec: Codec = jsCodec): Buffer {
  const out = Buffer.allocUnsafe(maxCompressedLength(input.length));
  return out.subarray(0, codec.compress(input, out));
}

/**
 * The length a raw snappy block decodes to, read from its preamble (the
 * block itself is not checked): the size of a `decompressInto()` target.
 */
export function uncompressedLength(block: Uint8Array): number {
  return readVarint(block).value;
}

/** Decodes a raw snappy block; refuses declared lengths above `maxOutputLength`. */
export function decompressBlock(block: Uint8Array, maxOutputLength = 0x7fffffff): Buffer {
  const { value, next } = readVarint(block);
  if (value > maxOutputLength) {
    throw new TinyFileError('ERR_TINYFILE_TOO_LARGE', `the block declares ${value} bytes, more than maxOutputLength ${maxOutputLength}`);
  }
  const out = Buffer.allocUnsafe(value);
  decodeRawBlock(block, out, value, next);
  return out;
}

/** A complete framed stream (stream identifier first) of `input`. */
export function compressFramed(input: Uint8Array, codec: Codec = jsCodec): Buffer {
  const out = Buffer.allocUnsafe(STREAM_IDENTIFIER.length + maxFramedLength(input.length));
  STREAM_IDENTIFIER.copy(out, 0);
  const scratch = Buffer.allocUnsafe(maxCompressedLength(65536));
  return out.subarray(0, encodeFrames(codec, input, 0, input.length, out, STREAM_IDENTIFIER.length, scratch));
}

/** Decodes a complete framed stream. */
export function decompressFramed(stream: Buffer): Buffer {
  const splitter = new FrameSplitter(1 << 20, 1 << 20);
  const parts: Buffer[] = [];
  for (const batch of splitter.push(stream)) {
    const out = Buffer.allocUnsafe(batch.maxOut);
    parts.push(out.subarray(0, decodeFrames(batch.data, batch.data.length, out, batch.offset)));
  }
  splitter.end();
  return Buffer.concat(parts);
}
