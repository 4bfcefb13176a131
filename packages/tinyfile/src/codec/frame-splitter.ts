// Client-side parser of a framed stream (framing_format.txt at
// google/snappy@27f34a580be4a3becf5f8c0cba13433f53c21337). It only finds
// chunk boundaries and validates the cheap things (stream identifier,
// reserved types, lengths); decoding and checksums happen in tinyd. Output
// is batches of whole data chunks, each small enough for one segment.
import { CorruptInputError } from '../errors';
import { CHUNK_COMPRESSED, CHUNK_PADDING, CHUNK_STREAM_ID, CHUNK_UNCOMPRESSED, MAX_CHUNK_DATA, MAX_DATA_CHUNK_LENGTH, STREAM_IDENTIFIER } from './framing';

const STATE_IDENTIFIER = 0;
const STATE_CHUNKS = 1;
const STATE_SKIP = 2;

export interface FrameBatch {
  /** Whole data chunks, headers included. */
  data: Buffer;
  /** Where `data` starts in the framed stream. */
  offset: number;
  /** Upper bound on the decoded size: 65536 per chunk. */
  maxOut: number;
}

export class FrameSplitter {
  readonly #maxIn: number;
  readonly #maxOut: number;
  #state = STATE_IDENTIFIER;
  #pending: Buffer = Buffer.alloc(0);
  /** Stream offset of #pending[0]. */
  #offset = 0;
  #skipLeft = 0;

  /** `maxIn` / `maxOut`: the segment's capacity for one batch. */
  constructor(maxIn: number, maxOut: number) {
    this.#maxIn = maxIn;
    this.#maxOut = maxOut;
  }

  /** Adds bytes; returns the batches that are now complete. */
  push(chunk: Buffer): FrameBatch[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    return this.#run();
  }

  /** The stream ended: anything left over is a truncated chunk. */
  end(): void {
    if (this.#state === STATE_IDENTIFIER) {
      if (this.#pending.length === 0 && this.#offset === 0) return; // an empty stream is an empty file
      throw new CorruptInputError('not a snappy framed stream: it does not start with the stream identifier "sNaPpY"', 0);
    }
    if (this.#state === STATE_SKIP || this.#pending.length > 0) {
      throw new CorruptInputError('the snappy stream ends in the middle of a chunk (truncated file?)', this.#offset);
    }
  }

  #consume(n: number): void {
    this.#pending = this.#pending.subarray(n);
    this.#offset += n;
  }

  #run(): FrameBatch[] {
    const out: FrameBatch[] = [];
    for (;;) {
      if (this.#state === STATE_SKIP) {
        const n = Math.min(this.#skipLeft, this.#pending.length);
        this.#consume(n);
        this.#skipLeft -= n;
        if (this.#skipLeft > 0) return out;
        this.#state = STATE_CHUNKS;
      }
      const p = this.#pending;
      if (this.#state === STATE_IDENTIFIER) {
        // §4.1: the stream starts with the stream identifier.
        if (p.length < STREAM_IDENTIFIER.length) {
          if (!STREAM_IDENTIFIER.subarray(0, p.length).equals(p)) this.#notFramed();
          return out;
        }
        if (!p.subarray(0, STREAM_IDENTIFIER.length).equals(STREAM_IDENTIFIER)) this.#notFramed();
        this.#consume(STREAM_IDENTIFIER.length);
        this.#state = STATE_CHUNKS;
        continue;
      }
      // Collect a run of whole data chunks that fits one batch.
      let at = 0;
      let chunks = 0;
      let stop = false;
      while (!stop && at + 4 <= p.length) {
        const type = p[at]!;
        const len = p[at + 1]! | (p[at + 2]! << 8) | (p[at + 3]! << 16);
        const where = this.#offset + at;
        if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
          if (len < 4 || len > MAX_DATA_CHUNK_LENGTH) throw new CorruptInputError(`data chunk length ${len} is outside [4, ${MAX_DATA_CHUNK_LENGTH}]`, where);
          if (at + 4 + len > this.#maxIn || (chunks + 1) * MAX_CHUNK_DATA > this.#maxOut) break;
          if (at + 4 + len > p.length) break;
          at += 4 + len;
          chunks++;
        } else if (type >= 0x02 && type <= 0x7f) {
          // §4.5: reserved unskippable chunk.
          throw new CorruptInputError(`reserved unskippable chunk type 0x${type.toString(16)}`, where);
        } else {
          stop = true;
        }
      }
      if (chunks > 0) {
        out.push({ data: p.subarray(0, at), offset: this.#offset, maxOut: chunks * MAX_CHUNK_DATA });
        this.#consume(at);
        continue;
      }
      if (p.length < 4) return out;
      const type = p[0]!;
      const len = p[1]! | (p[2]! << 8) | (p[3]! << 16);
      if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) return out; // waiting for the rest of the chunk
      if (type === CHUNK_STREAM_ID) {
        // §4.1: the identifier may repeat (concatenated streams); it must be intact.
        if (p.length < STREAM_IDENTIFIER.length) return out;
        if (!p.subarray(0, STREAM_IDENTIFIER.length).equals(STREAM_IDENTIFIER)) {
          throw new CorruptInputError('malformed stream identifier chunk', this.#offset);
        }
        this.#consume(STREAM_IDENTIFIER.length);
        continue;
      }
      // §4.4 padding (0xfe) and §4.6 reserved skippable chunks (0x80-0xfd): skip them.
      void CHUNK_PADDING;
      this.#consume(4);
      this.#skipLeft = len;
      this.#state = STATE_SKIP;
    }
  }

  #notFramed(): never {
    throw new CorruptInputError('not a snappy framed stream: it does not start with the stream identifier "sNaPpY"', 0);
  }
}
