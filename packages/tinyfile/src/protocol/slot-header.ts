// Typed access to one slot's header words (layout.ts S_*). Both processes
// read and write them concurrently, so every access is one Atomics load or
// store of its Int32 word. One SlotHeader is made per slot when a channel is
// mapped and reused for every request: nothing is allocated per access.
//
// The words are written by the other side too: every value read here is
// input, checked by the caller before it is used.
import {
  S_CONSUMED,
  S_COPY_LEFT,
  S_COPY_OFFSET,
  S_DISPATCHED_AT,
  S_ERR_OFFSET,
  S_GROUP,
  S_HIST_LEN,
  S_IN_LEN,
  S_LITERAL,
  S_OP,
  S_OUT_LEN,
  S_OUT_LIMIT,
  S_PRODUCED_HI,
  S_PRODUCED_LO,
  S_REQ_ID,
  S_SEEN_AT,
  S_STATE,
  S_STATUS,
  SLOT_WORDS,
  SLOTS_AT,
} from './layout';

const TWO_32 = 2 ** 32;

/** The raw-decoder state a DECOMPRESS_RAW round carries in and out. */
export interface RawDecodeWords {
  literal: number;
  copyLeft: number;
  copyOffset: number;
  /** Output bytes produced before this round (up to 2^53 − 1, two words). */
  produced: number;
}

export class SlotHeader {
  readonly #w: Int32Array;
  /** Index of the slot's first header word in `#w`. */
  readonly #h: number;

  /** `words`: the channel's memory from offset 0, as Int32 words. */
  constructor(words: Int32Array, slot: number) {
    this.#w = words;
    this.#h = SLOTS_AT / 4 + slot * SLOT_WORDS;
  }

  /** One header per slot of a channel of `slots` slots. */
  static forChannel(words: Int32Array, slots: number): SlotHeader[] {
    return Array.from({ length: slots }, (_, i) => new SlotHeader(words, i));
  }

  /** FREE/REQUEST/BUSY/DONE/FAILED (layout.ts STATE_*): for the record and for status only. */
  get state(): number {
    return Atomics.load(this.#w, this.#h + S_STATE);
  }
  set state(v: number) {
    Atomics.store(this.#w, this.#h + S_STATE, v);
  }

  /** Client: the operation (layout.ts OP). */
  get op(): number {
    return Atomics.load(this.#w, this.#h + S_OP);
  }
  set op(v: number) {
    Atomics.store(this.#w, this.#h + S_OP, v);
  }

  /** Client: a request counter, for the record. */
  set reqId(v: number) {
    Atomics.store(this.#w, this.#h + S_REQ_ID, v);
  }

  /** Client: input bytes, after the history. */
  get inLen(): number {
    return Atomics.load(this.#w, this.#h + S_IN_LEN);
  }
  set inLen(v: number) {
    Atomics.store(this.#w, this.#h + S_IN_LEN, v);
  }

  /** Client, DECOMPRESS_RAW: bytes of earlier output placed before the input. */
  get histLen(): number {
    return Atomics.load(this.#w, this.#h + S_HIST_LEN);
  }
  set histLen(v: number) {
    Atomics.store(this.#w, this.#h + S_HIST_LEN, v);
  }

  /** Client, DECOMPRESS_RAW: at most this many output bytes this round. */
  get outLimit(): number {
    return Atomics.load(this.#w, this.#h + S_OUT_LIMIT);
  }
  set outLimit(v: number) {
    Atomics.store(this.#w, this.#h + S_OUT_LIMIT, v);
  }

  /** Daemon: output bytes written to the slot data (or the length of a failure message). */
  get outLen(): number {
    return Atomics.load(this.#w, this.#h + S_OUT_LEN);
  }
  set outLen(v: number) {
    Atomics.store(this.#w, this.#h + S_OUT_LEN, v);
  }

  /** Daemon, DECOMPRESS_RAW: input bytes consumed. */
  get consumed(): number {
    return Atomics.load(this.#w, this.#h + S_CONSUMED);
  }
  set consumed(v: number) {
    Atomics.store(this.#w, this.#h + S_CONSUMED, v);
  }

  /** Both sides, DECOMPRESS_RAW: the decoder state words. */
  get literal(): number {
    return Atomics.load(this.#w, this.#h + S_LITERAL);
  }
  get copyLeft(): number {
    return Atomics.load(this.#w, this.#h + S_COPY_LEFT);
  }
  get copyOffset(): number {
    return Atomics.load(this.#w, this.#h + S_COPY_OFFSET);
  }
  /** Output produced before the round, from its two words (high word read first). */
  get produced(): number {
    return (Atomics.load(this.#w, this.#h + S_PRODUCED_HI) >>> 0) * TWO_32 + (Atomics.load(this.#w, this.#h + S_PRODUCED_LO) >>> 0);
  }

  /** Stores the decoder state words (`produced` as low word, then high word). */
  setRawDecode(s: RawDecodeWords): void {
    this.setRawDecodeWords(s.literal, s.copyLeft, s.copyOffset, s.produced);
  }

  /** setRawDecode without an object, for callers that keep the state in fields. */
  setRawDecodeWords(literal: number, copyLeft: number, copyOffset: number, produced: number): void {
    const w = this.#w;
    const h = this.#h;
    Atomics.store(w, h + S_LITERAL, literal);
    Atomics.store(w, h + S_COPY_LEFT, copyLeft);
    Atomics.store(w, h + S_COPY_OFFSET, copyOffset);
    Atomics.store(w, h + S_PRODUCED_LO, produced % TWO_32 | 0);
    Atomics.store(w, h + S_PRODUCED_HI, Math.floor(produced / TWO_32));
  }

  /** Daemon: a STATUS code (layout.ts STATUS). */
  get status(): number {
    return Atomics.load(this.#w, this.#h + S_STATUS);
  }
  set status(v: number) {
    Atomics.store(this.#w, this.#h + S_STATUS, v);
  }

  /** Daemon: the dispatch counter when it first saw the request. */
  get seenAt(): number {
    return Atomics.load(this.#w, this.#h + S_SEEN_AT);
  }
  set seenAt(v: number) {
    Atomics.store(this.#w, this.#h + S_SEEN_AT, v);
  }

  /** Daemon: the dispatch counter when it dispatched the request. */
  get dispatchedAt(): number {
    return Atomics.load(this.#w, this.#h + S_DISPATCHED_AT);
  }
  set dispatchedAt(v: number) {
    Atomics.store(this.#w, this.#h + S_DISPATCHED_AT, v);
  }

  /** Daemon: the input offset a decode error refers to, or -1. */
  get errOffset(): number {
    return Atomics.load(this.#w, this.#h + S_ERR_OFFSET);
  }
  set errOffset(v: number) {
    Atomics.store(this.#w, this.#h + S_ERR_OFFSET, v);
  }

  /** Client: nonzero marks the chunks of one call (layout.ts S_GROUP). */
  get group(): number {
    return Atomics.load(this.#w, this.#h + S_GROUP);
  }
  set group(v: number) {
    Atomics.store(this.#w, this.#h + S_GROUP, v);
  }

  /** Stores a raw header word by index (hostile-client tests only: kUnsafeSubmit). */
  storeWord(index: number, v: number): void {
    Atomics.store(this.#w, this.#h + index, v);
  }
}
