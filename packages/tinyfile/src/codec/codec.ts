// The compressor is pluggable; decoding always goes through raw-decoder.ts,
// which checks every offset and length (snappyjs's own decoder can loop
// forever on hostile input, and the daemon must survive any input).
import { SnappyCompressor } from 'snappyjs/snappy_compressor';

import { TinyFileError } from '../errors';
import { compressRaw } from './raw-encoder';

export type CodecName = 'js' | 'snappyjs' | 'native';
export const CODEC_NAMES: readonly CodecName[] = ['js', 'snappyjs', 'native'];

export interface Codec {
  readonly name: CodecName;
  /** Writes a raw snappy block (length preamble included) for `input` into `out`; returns its length. */
  compress(input: Uint8Array, out: Uint8Array): number;
}

/** The bound on a raw block's size: 32 + n + n/6 (snappy.cc MaxCompressedLength). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** Ours (raw-encoder.ts): snappyjs's output, byte for byte, in about 60 % of its time. The default. */
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

export function codecByName(name: string): Codec {
  if (name === 'js') return jsCodec;
  if (name === 'snappyjs') return snappyjsCodec;
  if (name === 'native') return nativeCodec();
  throw new TinyFileError('ERR_INVALID_ARG_VALUE', `unknown codec "${name}"; use ${CODEC_NAMES.join(', ')}`);
}
