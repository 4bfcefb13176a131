// The compressor is pluggable. Decoding goes through raw-decoder.ts, which
// checks every offset and length (snappyjs's own decoder can loop forever on
// hostile input, and the daemon must survive any input), except where a
// native codec's decoder (libsnappy's, itself safe on corrupt input) takes a
// whole block from private memory; what it refuses still goes through ours.
import { SnappyCompressor } from 'snappyjs/snappy_compressor';

import { TinyFileError } from '../errors';
import { LibSnappy } from './libsnappy';
import { compressRaw } from './raw-encoder';

export type CodecName = 'js' | 'snappyjs' | 'native' | 'libsnappy';
/** What tinyd's `--codec` accepts: a codec, or `auto` (libsnappy when it loads, else js). */
export const CODEC_NAMES: readonly string[] = ['auto', 'libsnappy', 'js', 'snappyjs', 'native'];

export interface Codec {
  readonly name: CodecName;
  /** Writes a raw snappy block (length preamble included) for `input` into `out`; returns its length. */
  compress(input: Uint8Array, out: Uint8Array): number;
  /**
   * Decodes the whole raw block `block` (preamble included) into `out`;
   * returns the output length, or -1 when the block is invalid or does not
   * fit (the caller then runs tinyfile's decoder, which says why and where).
   * Only native codecs have one; `block` must be private memory (the
   * decoder trusts its input not to change under it).
   */
  decompress?(block: Uint8Array, out: Uint8Array): number;
  /** Releases native memory the codec holds. */
  close?(): void;
}

/** The bound on a raw block's size: 32 + n + n/6 (snappy.cc MaxCompressedLength). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** Ours (raw-encoder.ts): snappyjs's output, byte for byte, in about 60 % of its time. In-process default; tinyd's without libsnappy. */
export const jsCodec: Codec = {
  name: 'js',
  compress: compressRaw,
};

/** The snappyjs package's compressor, for comparison. */
export const snappyjsCodec: Codec = {
  name: 'snappyjs',
  compress(input, out) {
    return new SnappyCompressor(input).compressToBuffer(out);
  },
};

interface NativeSnappy {
  compressSync(input: Buffer): Buffer;
}

/** The napi-rs `snappy` package, when it is installed (an optional dependency). */
export function nativeCodec(): Codec {
  let mod: NativeSnappy;
  try {
    mod = require('snappy') as NativeSnappy;
  } catch (err) {
    throw new TinyFileError('ERR_TINYFILE_NO_NATIVE_CODEC', 'the native codec needs the optional "snappy" package; install it or use --codec js', {
      cause: err,
    });
  }
  return {
    name: 'native',
    compress(input, out) {
      const b = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
      const r = mod.compressSync(b);
      if (r.length > out.length) throw new TinyFileError('ERR_TINYFILE_INTERNAL', `native snappy produced ${r.length} bytes, more than the bound ${out.length}`);
      out.set(r, 0);
      return r.length;
    },
  };
}

/** The C library libsnappy through ffi (see libsnappy.ts); ERR_TINYFILE_NO_NATIVE_CODEC when it does not load. */
export function libSnappyCodec(): Codec {
  const lib = LibSnappy.load();
  return {
    name: 'libsnappy',
    compress: (input, out) => lib.compress(input, out),
    decompress: (block, out) => lib.uncompress(block, out),
    close: () => lib.close(),
  };
}

/**
 * The codec `name` names. `auto` is libsnappy when it loads, else js, with
 * one line to `notice` saying why.
 */
export function codecByName(name: string, notice: (line: string) => void = () => undefined): Codec {
  if (name === 'js') return jsCodec;
  if (name === 'snappyjs') return snappyjsCodec;
  if (name === 'native') return nativeCodec();
  if (name === 'libsnappy') return libSnappyCodec();
  if (name === 'auto') {
    try {
      return libSnappyCodec();
    } catch (err) {
      notice(`native codec unavailable, using the js codec: ${(err as Error).message}`);
      return jsCodec;
    }
  }
  throw new TinyFileError('ERR_INVALID_ARG_VALUE', `unknown codec "${name}"; use ${CODEC_NAMES.join(', ')}`);
}

/** Checks a `--codec` value without loading anything. */
export function checkCodecName(name: string): void {
  if (!CODEC_NAMES.includes(name)) throw new TinyFileError('ERR_INVALID_ARG_VALUE', `--codec must be one of ${CODEC_NAMES.join(', ')}, got "${name}"`);
}
