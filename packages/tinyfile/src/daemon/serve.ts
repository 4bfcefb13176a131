// Serves one request slot: reads the request header once, checks every field
// against the slot's bounds (the client may be hostile, and may keep writing
// while we work), runs the codec, writes the output and the result words.
// The state word itself is left to the scheduler, which owns transitions.
import * as sys from '@shmkit/shm-fd/sys';

import { maxCompressedLength, type Codec } from '../codec/codec';
import { decodeFrames, encodeFrames } from '../codec/framing';
import { NATIVE_DECODE_MIN } from '../codec/libsnappy';
import { decodeRawStep, HISTORY, type RawDecodeState } from '../codec/raw-decoder';
import { varintLength, writeVarint } from '../codec/varint';
import { CorruptInputError } from '../errors';
import { OP, slotDataAt, STATUS, type StatusName } from '../protocol/layout';
import type { SlotHeader } from '../protocol/slot-header';

/**
 * Per-executor scratch memory, sized once for the daemon's slot size. It is
 * mapped memory, so a native codec reads and writes it by address (a heap
 * Buffer would cost it a staging copy). close() unmaps it.
 */
export interface ServeScratch {
  /** Private output of a compression, private input of a raw decode. */
  work: Buffer;
  /** One compressed 64 KiB piece of a framed chunk. */
  chunk: Buffer;
  close(): void;
}

export function scratchFor(slotSize: number): ServeScratch {
  const workLen = slotSize + HISTORY + 64;
  const m = sys.mapAnonymous(workLen + maxCompressedLength(65536));
  return { work: m.buffer.subarray(0, workLen), chunk: m.buffer.subarray(workLen), close: () => m.close() };
}

/**
 * The native decoder, when the request is a whole raw block: no history, no
 * decoder state carried in, and the input not cut by the slot (then it
 * decodes to exactly `outLimit` bytes, or the block continues past this
 * request and the native attempt fails). The input is copied to private
 * memory first, behind the length preamble the C decoder expects; the
 * output goes straight into the slot. Returns the output length, or -1 to
 * run tinyfile's decoder (which also explains any failure) on the private
 * copy: the slot then holds partial output, not the input.
 */
function decodeWhole(codec: Codec, data: Buffer, inLen: number, outLimit: number, work: Buffer): number {
  const at = writeVarint(outLimit, work, 0);
  data.copy(work, at, 0, inLen);
  const n = codec.decompress!(work.subarray(0, at + inLen), data.subarray(0, outLimit));
  return n === outLimit ? n : -1;
}

class BadRequest extends Error {}

export interface ServeResult {
  ok: boolean;
  status: StatusName;
  /** Bytes the executor wrote to the slot (its own count, not the shared word the client can overwrite). */
  outLen: number;
}

/**
 * The request words the scheduler loaded (once) to decide where the
 * request runs; the executor uses these values, never a second load.
 */
export interface SlotRequest {
  op: number;
  inLen: number;
  outLimit: number;
}

/** Loads a slot's request words once (Atomics: the client writes them concurrently). */
export function loadRequest(header: SlotHeader): SlotRequest {
  return { op: header.op, inLen: header.inLen, outLimit: header.outLimit };
}

/**
 * `channel` is the whole mapped channel; `header` the header words of `slot` in it.
 * Returns whether the request succeeded; on failure the slot data holds the message.
 */
export function serveSlot(
  channel: Buffer,
  header: SlotHeader,
  slot: number,
  slotSize: number,
  codec: Codec,
  scratch: ServeScratch,
  req: SlotRequest,
): ServeResult {
  const data = channel.subarray(slotDataAt(slot, slotSize), slotDataAt(slot, slotSize) + slotSize);
  // Each field is read exactly once (here or by the scheduler, into `req`): the client can change them at any time.
  const { op, inLen, outLimit } = req;
  let outLen = 0;
  let status: StatusName = 'OK';
  let message = '';
  let errOffset = -1;
  try {
    if (inLen < 0 || inLen > slotSize) throw new BadRequest(`input length ${inLen} is outside [0, ${slotSize}]`);
    switch (op) {
      case OP.COMPRESS_RAW: {
        if (inLen > Math.floor(((slotSize - 32) * 6) / 7)) throw new BadRequest(`compress input of ${inLen} bytes cannot fit the ${slotSize}-byte slot`);
        // Raw compression of a block is the concatenation of independent
        // 64 KiB fragments, so a chunk's body is valid in the middle of a
        // block; the client writes the length preamble once.
        const n = codec.compress(data.subarray(0, inLen), scratch.work);
        const skip = varintLength(inLen);
        scratch.work.copy(data, 0, skip, n);
        outLen = n - skip;
        break;
      }
      case OP.COMPRESS_FRAMED: {
        const pieces = Math.ceil(inLen / 65536);
        if (inLen + 8 * pieces > slotSize) throw new BadRequest(`framed input of ${inLen} bytes cannot fit the ${slotSize}-byte slot`);
        const end = encodeFrames(codec, data, 0, inLen, scratch.work, 0, scratch.chunk);
        scratch.work.copy(data, 0, 0, end);
        outLen = end;
        break;
      }
      case OP.DECOMPRESS_RAW: {
        const hist = header.histLen;
        const state: RawDecodeState = {
          literal: header.literal,
          copyLeft: header.copyLeft,
          copyOffset: header.copyOffset,
          produced: header.produced,
        };
        if (hist < 0 || hist > HISTORY || hist + inLen > slotSize) throw new BadRequest(`history ${hist} + input ${inLen} do not fit the slot`);
        if (outLimit < 0 || outLimit > slotSize) throw new BadRequest(`output limit ${outLimit} is outside [0, ${slotSize}]`);
        if (state.literal < 0 || state.copyLeft < 0 || state.copyLeft > 64) throw new BadRequest('decoder state is out of range');
        if (state.copyLeft > 0 && (state.copyOffset <= 0 || state.copyOffset > hist)) throw new BadRequest('pending copy reaches outside the history');
        if (hist > state.produced) throw new BadRequest(`history of ${hist} bytes exceeds the ${state.produced} bytes produced`);
        const whole = codec.decompress !== undefined && hist === 0 && state.literal === 0 && state.copyLeft === 0 && inLen < slotSize && outLimit >= NATIVE_DECODE_MIN;
        const n = whole ? decodeWhole(codec, data, inLen, outLimit, scratch.work) : -1;
        if (n >= 0) {
          outLen = n;
          header.consumed = inLen;
          header.setRawDecodeWords(0, 0, 0, state.produced + n);
          break;
        }
        // The input moves to private memory and the output is decoded in
        // place after the history: the output is the larger of the two (3×
        // for text), and the client can then change no byte the decoder's
        // bounds depend on. (History it scribbles on only spoils its own output.)
        const input = scratch.work;
        // After a failed native attempt the slot holds its partial output: the input is only in the private copy.
        if (whole) input.copy(input, 0, varintLength(outLimit), varintLength(outLimit) + inLen);
        else data.copy(input, 0, hist, hist + inLen);
        const r = decodeRawStep(input, 0, inLen, data, hist, Math.min(hist + outLimit, slotSize), state);
        outLen = r.outPos - hist;
        header.consumed = r.inPos;
        header.setRawDecode(state);
        break;
      }
      case OP.DECOMPRESS_FRAMED: {
        const n = decodeFrames(data, inLen, scratch.work.subarray(0, slotSize), 0, codec.decompress === undefined ? undefined : { codec, scratch: scratch.chunk });
        scratch.work.copy(data, 0, 0, n);
        outLen = n;
        break;
      }
      default:
        throw new BadRequest(`unknown operation ${op}`);
    }
  } catch (err) {
    if (err instanceof BadRequest) {
      status = 'ERR_TINYFILE_BAD_REQUEST';
      message = `bad request: ${err.message}`;
    } else if (err instanceof CorruptInputError) {
      status = err.code in STATUS ? (err.code as StatusName) : 'ERR_TINYFILE_CORRUPT_INPUT';
      message = err.message.replace(/ \(at input byte -?\d+\)$/, '');
      errOffset = err.offset ?? -1;
    } else {
      status = 'ERR_TINYFILE_INTERNAL';
      message = `tinyd failed: ${(err as Error).message}`;
    }
  }
  if (status !== 'OK') outLen = data.write(message.slice(0, 2000), 0, 'utf8');
  header.outLen = outLen;
  header.errOffset = errOffset;
  header.status = STATUS[status];
  return { ok: status === 'OK', status, outLen };
}
