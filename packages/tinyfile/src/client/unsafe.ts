/**
 * Test hook: submits a hand-built request, bypassing the client's own
 * checks, to show the daemon survives whatever a hostile client writes.
 * Not part of the public API.
 */
export const kUnsafeSubmit = Symbol.for('@shmkit/tinyfile:unsafe-submit');

export interface UnsafeRequest {
  op: number;
  /** Header words to store, by slot-header word index (layout.ts S_*). */
  words: Record<number, number>;
  /** Bytes written at the start of the slot's data area. */
  data?: Buffer;
}

export interface UnsafeResult {
  failed: boolean;
  status: string;
  message: string;
  outLen: number;
}
