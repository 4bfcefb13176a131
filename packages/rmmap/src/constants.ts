// Wire constants of the rmmap protocol. The spec is docs/PROTOCOL.md; section
// numbers in comments (§n) refer to it.

/** §2: every connection opens with a HELLO carrying this magic ("RMMP") and the version. */
export const MAGIC = 0x524d4d50;
export const PROTOCOL_VERSION = 1;

/** §2: bytes before the type byte: u32 length. */
export const LENGTH_BYTES = 4;
/** §2: u8 type + u32 request id follow the length; `length` counts them. */
export const HEADER_AFTER_LENGTH = 5;
export const HEADER_BYTES = LENGTH_BYTES + HEADER_AFTER_LENGTH;

/** §2: default and hard upper bound for `length` (the server advertises its own in HELLO_OK). */
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024 + 64;
export const MAX_FRAME_LIMIT = 256 * 1024 * 1024;
/** §3: before the handshake only a HELLO is accepted, and it is small. */
export const MAX_HELLO_FRAME = 4096;
/** §4.1: paths are at most this many bytes of UTF-8. */
export const MAX_PATH_BYTES = 4096;

/** §4: frame types. Requests are < 0x80; replies and server pushes are >= 0x80. */
export const FrameType = {
  HELLO: 0x01,
  MAP: 0x02,
  READ: 0x03,
  WRITE: 0x04,
  UNMAP: 0x05,
  SYNC: 0x06,
  PING: 0x07,
  OK: 0x80,
  HELLO_OK: 0x81,
  MAPPED: 0x82,
  DATA: 0x83,
  WROTE: 0x84,
  PONG: 0x87,
  NOTIFY: 0x88,
  ERROR: 0xff,
} as const;
export type FrameTypeName = keyof typeof FrameType;
export type FrameTypeCode = (typeof FrameType)[FrameTypeName];

export const frameTypeName: Readonly<Record<number, FrameTypeName>> = Object.fromEntries(
  Object.entries(FrameType).map(([k, v]) => [v, k as FrameTypeName]),
);

/**
 * §5: error codes carried by ERROR frames. Never renumber or reuse a code; add
 * new ones at the end.
 */
export const WireError = {
  ERR_RMMAP_BAD_FRAME: 1,
  ERR_RMMAP_FRAME_TOO_LARGE: 2,
  ERR_RMMAP_UNKNOWN_TYPE: 3,
  ERR_RMMAP_VERSION: 4,
  ERR_RMMAP_AUTH: 5,
  ERR_RMMAP_HANDSHAKE: 6,
  ERR_RMMAP_BAD_PATH: 7,
  ENOENT: 8,
  EACCES: 9,
  ERR_RMMAP_READ_ONLY: 10,
  ERR_RMMAP_UNKNOWN_MAPPING: 11,
  ERR_RMMAP_RANGE: 12,
  ERR_RMMAP_EMPTY_FILE: 13,
  ERR_RMMAP_IO: 14,
  ERR_RMMAP_TOO_MANY_MAPPINGS: 15,
  EISDIR: 16,
  ERR_RMMAP_BUDGET: 17,
} as const;
export type WireErrorName = keyof typeof WireError;

export const wireErrorName: Readonly<Record<number, WireErrorName>> = Object.fromEntries(
  Object.entries(WireError).map(([k, v]) => [v, k as WireErrorName]),
);

/** Parser states (named states, the parser is an explicit machine). */
export const ParserState = {
  /** Waiting for the 4-byte length prefix. */
  LENGTH: 0,
  /** Waiting for `length` bytes of type, request id and payload. */
  BODY: 1,
  /** Copying a large or transient frame's bytes into its own buffer as they arrive. */
  FILL: 3,
  /** A fatal error was reported; everything after it is ignored. */
  FAILED: 2,
} as const;
export type ParserStateCode = (typeof ParserState)[keyof typeof ParserState];
