// Serves one request slot: reads the request header once, checks every field
// against the slot's bounds (the client may be hostile, and may keep writing
// while we work), runs the codec, writes the output and the result words.
// The state word itself is left to the scheduler, which owns transitions.
import { maxCompressedLength, type Codec } from '../codec/codec';
import { decodeFrames, encodeFrames } from '../codec/framing';
import { decodeRawStep, HISTORY, type RawDecodeState } from '../codec/raw-decoder';
import { varintLength } from '../codec/varint';
import { CorruptInputError } from '../errors';
import { OP, slotDataAt, STATUS, type StatusName } from '../protocol/layout';
import type { SlotHeader } from '../protocol/slot-header';

/** Per-executor scratch memory, sized once for the daemon's slot size. */
export function scratchFor(slotSize: number): { work: Buffer; chunk: Buffer } {
  return { work: Buffer.allocUnsafe(slotSize + HISTORY + 64), chunk: Buffer.allocUnsafe(maxCompressedLength(65536)) };
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
  scratch: { work: Buffer; chunk: Buffer },
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
        // The input moves to private memory and the output is decoded in
        // place after the history: the output is the larger of the two (3×
        // for text), and the client can then change no byte the decoder's
        // bounds depend on. (History it scribbles on only spoils its own output.)
        const input = scratch.work;
        data.copy(input, 0, hist, hist + inLen);
        const r = decodeRawStep(input, 0, inLen, data, hist, Math.min(hist + outLimit, slotSize), state);
        outLen = r.outPos - hist;
        header.consumed = r.inPos;
        header.setRawDecode(state);
        break;
      }
      case OP.DECOMPRESS_FRAMED: {
        const n = decodeFrames(data, inLen, scratch.work.subarray(0, slotSize));
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
