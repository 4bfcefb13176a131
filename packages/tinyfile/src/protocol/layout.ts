// The shared channel between tinyd and one client: one memfd created by the
// daemon and passed to the client over the Unix socket (SCM_RIGHTS).
//
//   page 0      header: magic, version, geometry
//               slot headers: SLOT_HEADER_BYTES each from SLOTS_AT
//   page 1      two @shmkit/shm-state SpscQueues of 4-byte slot numbers:
//               requests (client → daemon) and responses (daemon → client),
//               and a Notifier for answers; the Notifiers are the doorbells
//               that let either side sleep (futex for blocking waits, a pipe
//               doorbell for event-loop waits)
//   page 2...   slot data: `slotSize` bytes per slot (one "segment" each)
//
// Every header word is an Int32 read and written with Atomics: both
// processes touch them concurrently. A slot's words are written by the client
// before it pushes the slot number on the request queue, and by the daemon
// before it pushes the number on the response queue; the queue's release /
// acquire on its positions orders those writes for the other side.

export const MAGIC = 0x46594e54; // "TNYF" little-endian
export const VERSION = 3;
export const HEADER_BYTES = 4096;

/** Header words (Int32 indexes). */
export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_SLOTS = 2;
export const H_SLOT_SIZE = 3;

export const REQUEST_QUEUE_AT = 4096;
export const RESPONSE_QUEUE_AT = 4096 + 2048;
/** Ring bytes of each queue: a record is 8 bytes, and at most 30 slots are ever in flight. */
export const QUEUE_CAPACITY = 1024;
/**
 * A shm-state Notifier the daemon signals after every answer. The client's
 * event loop waits on it with a check that only peeks at the response queue,
 * so an answer is never taken off the queue by a wait whose continuation has
 * not run yet (a blocking call in between would wait for it forever).
 */
export const ANSWER_NOTIFIER_AT = 4096 + 2048 + 1728;
export const DATA_AT = 8192;

export const SLOTS_AT = 256;
export const SLOT_HEADER_BYTES = 128;
export const MAX_SLOTS = (HEADER_BYTES - SLOTS_AT) / SLOT_HEADER_BYTES;

/** Slot header words (Int32 index within the slot header). */
export const S_STATE = 0;
export const S_OP = 1;
export const S_REQ_ID = 2;
/** Input bytes, after the history. */
export const S_IN_LEN = 3;
/** DECOMPRESS_RAW: bytes of earlier output placed before the input. */
export const S_HIST_LEN = 4;
/** DECOMPRESS_RAW: at most this many output bytes this round; the daemon also stops at the slot's end. */
export const S_OUT_LIMIT = 5;
/** Daemon: output bytes written to the slot data (DECOMPRESS_RAW: from S_HIST_LEN on, after the history; others: from 0). */
export const S_OUT_LEN = 6;
/** Daemon, DECOMPRESS_RAW: input bytes consumed. */
export const S_CONSUMED = 7;
/** DECOMPRESS_RAW decoder state, in and out (raw-decoder.ts RawDecodeState). */
export const S_LITERAL = 8;
export const S_COPY_LEFT = 9;
export const S_COPY_OFFSET = 10;
export const S_PRODUCED_LO = 11;
export const S_PRODUCED_HI = 12;
/** Daemon: a STATUS code; on failure the slot data holds a UTF-8 message of S_OUT_LEN bytes. */
export const S_STATUS = 13;
/** Daemon: global dispatch counter when it first saw the request, and when it dispatched it. */
export const S_SEEN_AT = 14;
export const S_DISPATCHED_AT = 15;
/** Daemon: input offset a decode error refers to, or -1. */
export const S_ERR_OFFSET = 16;
/**
 * Client: nonzero marks the chunks of one call. tinyd holds a finished
 * chunk's answer while another chunk of its group is still queued or
 * running, so the client wakes once per call, not once per chunk. 0: answer
 * at once. A hint read once per request; it can only delay the client's own
 * answers, never past the end of its own chunks.
 */
export const S_GROUP = 17;
export const SLOT_WORDS = SLOT_HEADER_BYTES / 4;

/**
 * Slot states, for the record and for status: FREE/DONE/FAILED → REQUEST by
 * the client; REQUEST → BUSY → DONE/FAILED by the daemon. Who acts is decided
 * by the queues, never by these words, so a client scribbling on them cannot
 * make the daemon serve a slot twice.
 */
export const STATE_FREE = 0;
export const STATE_REQUEST = 1;
export const STATE_BUSY = 2;
export const STATE_DONE = 3;
export const STATE_FAILED = 4;

export const OP = {
  COMPRESS_RAW: 1,
  DECOMPRESS_RAW: 2,
  COMPRESS_FRAMED: 3,
  DECOMPRESS_FRAMED: 4,
} as const;
export type OpCode = (typeof OP)[keyof typeof OP];

/** Wire status codes; never renumbered. */
export const STATUS = {
  OK: 0,
  ERR_TINYFILE_BAD_REQUEST: 1,
  ERR_TINYFILE_CORRUPT_INPUT: 2,
  ERR_TINYFILE_BAD_CHECKSUM: 3,
  ERR_TINYFILE_WINDOW: 4,
  ERR_TINYFILE_INTERNAL: 5,
} as const;
export type StatusName = keyof typeof STATUS;
export const STATUS_NAME: Record<number, StatusName> = Object.fromEntries(Object.entries(STATUS).map(([k, v]) => [v, k as StatusName]));

/** Smallest segment: one worst-case framed or raw chunk of 64 KiB plus room. */
export const MIN_SLOT_SIZE = 128 * 1024;
export const MAX_SLOT_SIZE = 256 * 1024 * 1024;

export function channelLength(slots: number, slotSize: number): number {
  return DATA_AT + slots * slotSize;
}

export function slotDataAt(slot: number, slotSize: number): number {
  return DATA_AT + slot * slotSize;
}

/** A queue message: the slot number, u32 little-endian. */
export function slotMessage(slot: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(slot, 0);
  return b;
}

/** Input bytes per compress chunk: a multiple of 64 KiB whose worst-case output fits a slot. */
export function compressChunkSize(slotSize: number): number {
  const rawFit = Math.floor(((slotSize - 32) * 6) / 7);
  const framedFit = Math.floor(slotSize / (65536 + 8)) * 65536;
  return Math.max(65536, Math.floor(Math.min(rawFit, framedFit) / 65536) * 65536);
}
