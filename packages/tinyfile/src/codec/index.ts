export { crc32c, maskChecksum } from './crc32c';
export { varintLength, writeVarint, readVarint } from './varint';
export { decodeRawStep, decodeRawBlock, finishRaw, initialDecodeState, HISTORY, type RawDecodeState, type DecodeStep } from './raw-decoder';
export { jsCodec, snappyjsCodec, nativeCodec, libSnappyCodec, codecByName, checkCodecName, maxCompressedLength, CODEC_NAMES, type Codec, type CodecName } from './codec';
export { LibSnappy, libSnappyPath } from './libsnappy';
export {
  encodeFrames,
  decodeFrames,
  maxFramedLength,
  STREAM_IDENTIFIER,
  MAX_CHUNK_DATA,
  MAX_DATA_CHUNK_LENGTH,
} from './framing';
export { FrameSplitter, type FrameBatch } from './frame-splitter';
export { compressBlock, decompressBlock, compressFramed, decompressFramed } from './in-process';
