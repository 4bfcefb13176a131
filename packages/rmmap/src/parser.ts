import { HEADER_AFTER_LENGTH, LENGTH_BYTES, ParserState, type ParserStateCode } from './constants';
import { RmmapProtocolError } from './errors';

/** One decoded frame. `payload` may be a view into a received chunk: copy it to keep it. */
export interface RawFrame {
  type: number;
  requestId: number;
  payload: Buffer;
}

export interface FrameParserOptions {
  /** Largest accepted `length` field (§2). Checked before anything is allocated. */
  maxFrame: number;
  onFrame: (frame: RawFrame) => void;
  /** Called once; the parser then ignores all further input. */
  onError: (err: RmmapProtocolError) => void;
}

/**
 * Splits a byte stream into frames (docs/PROTOCOL.md §2), following
 * undici:lib/web/websocket/receiver.js: an explicit state machine; `run()`
 * returns as soon as too few bytes are buffered; `consume(n)` slices without
 * copying inside one chunk and copies only when a read spans chunks.
 */
export class FrameParser {
  #state: ParserStateCode = ParserState.LENGTH;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #length = 0;
  #maxFrame: number;
  readonly #onFrame: (frame: RawFrame) => void;
  readonly #onError: (err: RmmapProtocolError) => void;

  constructor(options: FrameParserOptions) {
    this.#maxFrame = options.maxFrame;
    this.#onFrame = options.onFrame;
    this.#onError = options.onError;
  }

  get state(): ParserStateCode {
    return this.#state;
  }

  /** Bytes received but not yet part of a delivered frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Changes the limit, e.g. after the handshake (§3). Applies to the next length read. */
  set maxFrame(n: number) {
    this.#maxFrame = n;
  }

  push(chunk: Buffer): void {
    if (this.#state === ParserState.FAILED || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#run();
  }

  #run(): void {
    for (;;) {
      switch (this.#state) {
        case ParserState.LENGTH: {
          if (this.#buffered < LENGTH_BYTES) return;
          const length = this.#consume(LENGTH_BYTES).readUInt32BE(0);
          // §2: "length counts the type byte, the request id and the payload; it is
          // at least 5 and at most the receiver's max frame size".
          if (length < HEADER_AFTER_LENGTH) {
            this.#fail('ERR_RMMAP_BAD_FRAME', `frame length ${length} is shorter than the 5-byte header (PROTOCOL.md §2)`);
            return;
          }
          if (length > this.#maxFrame) {
            this.#fail(
              'ERR_RMMAP_FRAME_TOO_LARGE',
              `frame length ${length} exceeds the maximum frame size ${this.#maxFrame} (PROTOCOL.md §2)`,
            );
            return;
          }
          this.#length = length;
          this.#state = ParserState.BODY;
          break;
        }
        case ParserState.BODY: {
          if (this.#buffered < this.#length) return;
          const body = this.#consume(this.#length);
          this.#state = ParserState.LENGTH;
          this.#onFrame({ type: body.readUInt8(0), requestId: body.readUInt32BE(1), payload: body.subarray(HEADER_AFTER_LENGTH) });
          // The callback may have failed or reset us (e.g. a fatal reply).
          break;
        }
        case ParserState.FAILED:
          return;
      }
    }
  }

  /** Takes `n` buffered bytes; zero-copy when they lie in the first chunk. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0] as Buffer;
    if (first.length === n) {
      this.#chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.#chunks[0] as Buffer;
      const take = Math.min(c.length, n - at);
      c.copy(out, at, 0, take);
      at += take;
      if (take === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(take);
    }
    return out;
  }

  #fail(code: string, message: string): void {
    this.#state = ParserState.FAILED;
    this.#chunks = [];
    this.#buffered = 0;
    this.#onError(new RmmapProtocolError(code, message));
  }

  /** Stops parsing (e.g. the connection is being closed). */
  stop(): void {
    this.#state = ParserState.FAILED;
    this.#chunks = [];
    this.#buffered = 0;
  }
}
