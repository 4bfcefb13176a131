import { takeBytes } from '@shmkit/kit/bytes';

import { HEADER_AFTER_LENGTH, LENGTH_BYTES, ParserState, type ParserStateCode } from './constants';
import { RmmapProtocolError } from './errors';
import type { RmmapCode } from './codes';

/** One decoded frame. */
export interface RawFrame {
  type: number;
  requestId: number;
  /**
   * The frame's bytes after the header. Unless `owned`, a view into a chunk
   * that was pushed as transient: valid only during the onFrame callback.
   */
  payload: Buffer;
  /** False when `payload` views a transient chunk (copy it to keep it). */
  owned?: boolean;
}

/** Frames at least this large are gathered into their own buffer as they arrive. */
const FILL_MIN = 64 * 1024;

export interface FrameParserOptions {
  /** Largest accepted `length` field (§2). Checked before anything is allocated. */
  maxFrame: number;
  onFrame: (frame: RawFrame) => void;
  /** Called once; the parser then ignores all further input. */
  onError: (err: RmmapProtocolError) => void;
  /**
   * Offers a buffer (≥ `length` bytes) to gather a big frame into, e.g. a
   * recycled one; undefined = allocate. Consulted once the type and request
   * id of a frame of at least 64 KiB have arrived.
   */
  bodyBuffer?: (type: number, requestId: number, length: number) => Buffer | undefined;
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
  /** FILL state: the frame being gathered and how much of it has arrived. */
  #body: Buffer | undefined;
  #filled = 0;
  #transient = false;
  #maxFrame: number;
  readonly #onFrame: (frame: RawFrame) => void;
  readonly #onError: (err: RmmapProtocolError) => void;
  readonly #bodyBuffer: FrameParserOptions['bodyBuffer'];

  constructor(options: FrameParserOptions) {
    this.#bodyBuffer = options.bodyBuffer;
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

  /**
   * Feeds received bytes. A `transient` chunk is reused by the caller after
   * this returns (e.g. a socket's `onread` buffer): the parser then copies
   * whatever it keeps, and frames that view it are delivered with
   * `owned: false`.
   */
  push(chunk: Buffer, transient = false): void {
    if (this.#state === ParserState.FAILED || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    this.#transient = transient;
    this.#run();
    if (transient && this.#chunks.length > 0 && (this.#state as ParserStateCode) !== ParserState.FAILED) {
      // Keep a copy of the unparsed tail: the caller will overwrite the chunk.
      const rest = Buffer.allocUnsafe(this.#buffered);
      let at = 0;
      for (const c of this.#chunks) at += c.copy(rest, at);
      this.#chunks = [rest];
    }
    this.#transient = false;
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
          if (this.#buffered < this.#length) {
            // Gather the frame into its own buffer as it arrives when it is big
            // (instead of a chunk list copied at the end), and always for
            // transient input (instead of re-copying the growing tail on every
            // push, which would be quadratic for a peer sending tiny pieces).
            const big = this.#length >= FILL_MIN;
            if (!big && !this.#transient) return;
            let offered: Buffer | undefined;
            if (big && this.#bodyBuffer !== undefined) {
              if (this.#buffered >= HEADER_AFTER_LENGTH) {
                const head = this.#peekHeader();
                offered = this.#bodyBuffer(head.readUInt8(0), head.readUInt32BE(1), this.#length);
              } else if (!this.#transient) {
                return; // wait for the type and request id before choosing a buffer
              }
            }
            this.#body = offered !== undefined && offered.length >= this.#length ? offered.subarray(0, this.#length) : Buffer.allocUnsafe(this.#length);
            this.#filled = 0;
            this.#state = ParserState.FILL;
            break;
          }
          const first = this.#chunks[0] as Buffer;
          // A view (not owned) only when the frame lies inside one transient chunk.
          const owned = !this.#transient || first.length < this.#length;
          const body = this.#consume(this.#length);
          this.#state = ParserState.LENGTH;
          this.#deliver(body, owned);
          // The callback may have failed or reset us (e.g. a fatal reply).
          break;
        }
        case ParserState.FILL: {
          const body = this.#body as Buffer;
          while (this.#filled < this.#length && this.#chunks.length > 0) {
            const c = this.#chunks[0] as Buffer;
            const take = Math.min(c.length, this.#length - this.#filled);
            c.copy(body, this.#filled, 0, take);
            this.#filled += take;
            this.#buffered -= take;
            if (take === c.length) this.#chunks.shift();
            else this.#chunks[0] = c.subarray(take);
          }
          if (this.#filled < this.#length) return;
          this.#body = undefined;
          this.#state = ParserState.LENGTH;
          this.#deliver(body, true);
          break;
        }
        case ParserState.FAILED:
          return;
      }
    }
  }

  /** The buffered type byte and request id, without consuming them. */
  #peekHeader(): Buffer {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= HEADER_AFTER_LENGTH) return first;
    const head = Buffer.allocUnsafe(HEADER_AFTER_LENGTH);
    let at = 0;
    for (const c of this.#chunks) {
      at += c.copy(head, at, 0, Math.min(c.length, HEADER_AFTER_LENGTH - at));
      if (at === HEADER_AFTER_LENGTH) break;
    }
    return head;
  }

  #deliver(body: Buffer, owned: boolean): void {
    this.#onFrame({ type: body.readUInt8(0), requestId: body.readUInt32BE(1), payload: body.subarray(HEADER_AFTER_LENGTH), owned });
  }

  /** Takes `n` buffered bytes; zero-copy when they lie in the first chunk. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    return takeBytes(this.#chunks, n);
  }

  #fail(code: RmmapCode, message: string): void {
    this.#state = ParserState.FAILED;
    this.#body = undefined;
    this.#chunks = [];
    this.#buffered = 0;
    this.#onError(new RmmapProtocolError(code, message));
  }

  /** Stops parsing (e.g. the connection is being closed). */
  stop(): void {
    this.#state = ParserState.FAILED;
    this.#body = undefined;
    this.#chunks = [];
    this.#buffered = 0;
  }
}
