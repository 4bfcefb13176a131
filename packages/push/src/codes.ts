// Reply status codes. Wire values are never renamed or reused.

export const PushStatus = {
  /** Header accepted; the sender may stream the data. */
  READY: 0,
  /** Data verified and stored under its final name. */
  STORED: 1,
  BAD_HEADER: 16,
  UNSUPPORTED_VERSION: 17,
  BAD_NAME: 18,
  TOO_LARGE: 19,
  NO_SPACE: 20,
  EXISTS: 21,
  CHECKSUM_MISMATCH: 22,
  TRUNCATED: 23,
  TIMEOUT: 24,
  IO_ERROR: 25,
  BUSY: 26,
  UNAUTHORIZED: 27,
} as const;

export type PushStatusName = keyof typeof PushStatus;
export type PushStatusCode = (typeof PushStatus)[PushStatusName];

export const PushStatusName: Record<number, PushStatusName | undefined> = Object.fromEntries(
  Object.entries(PushStatus).map(([k, v]) => [v, k as PushStatusName]),
);

/** The Node-style error code a sender reports for a receiver's status. */
export function errorCodeOf(status: number): PushCode {
  const name = PushStatusName[status];
  return name === undefined ? 'ERR_RMMAP_PUSH_UNKNOWN_STATUS' : `ERR_RMMAP_PUSH_${name}`;
}

/**
 * The code a failure carries on to a result or event: a PushError's own code,
 * or a system call's errno name as it came (an open set, so not all in
 * PUSH_CODES); `fallback` when it carries none.
 */
export function codeOf(err: unknown, fallback: PushCode): PushCode {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? (code as PushCode) : fallback;
}

// Every code push errors carry, and what it means. The README's "Errors"
// table lists the same codes (a test keeps the two equal); a PushError built
// with a code missing here does not compile. Codes are never renamed or reused.
export const PUSH_CODES = {
  ERR_RMMAP_PUSH_BAD_HEADER: 'the receiver could not read the header (status BAD_HEADER)',
  ERR_RMMAP_PUSH_UNSUPPORTED_VERSION: 'the receiver speaks another protocol version',
  ERR_RMMAP_PUSH_BAD_NAME: 'a name that is not a plain file name (refused by the sender or the receiver)',
  ERR_RMMAP_PUSH_TOO_LARGE: 'the file is larger than the receiver\'s `--max-size`',
  ERR_RMMAP_PUSH_NO_SPACE: 'the receiver has no room for the file',
  ERR_RMMAP_PUSH_EXISTS: 'the receiver already has a file of that name',
  ERR_RMMAP_PUSH_CHECKSUM_MISMATCH: 'the received bytes do not match the checksum; nothing was stored',
  ERR_RMMAP_PUSH_TRUNCATED: 'the connection ended before all bytes arrived',
  ERR_RMMAP_PUSH_TIMEOUT: 'no progress within the idle timeout (connect, data or verdict)',
  ERR_RMMAP_PUSH_IO_ERROR: 'the receiver failed to write the file',
  ERR_RMMAP_PUSH_BUSY: 'the receiver has as many connections as `--max-connections` allows',
  ERR_RMMAP_PUSH_UNAUTHORIZED: 'wrong or missing token',
  ERR_RMMAP_PUSH_READY: 'a READY status where a verdict was due (the receiver broke the protocol)',
  ERR_RMMAP_PUSH_STORED: 'a STORED status where a header answer was due (the receiver broke the protocol)',
  ERR_RMMAP_PUSH_UNKNOWN_STATUS: 'a status number the sender does not know',
  ERR_RMMAP_PUSH_BAD_REPLY: 'the peer is not a push receiver (bad magic, oversized reply)',
  ERR_RMMAP_PUSH_PEER_CLOSED: 'the peer closed without a verdict (e.g. killed), or the socket has no fd',
  ERR_RMMAP_PUSH_ABORTED: 'the push was aborted',
  ERR_RMMAP_PUSH_FILE_CHANGED: 'the file shrank or changed size while being pushed',
  ERR_RMMAP_PUSH_BAD_DESTINATION: 'no destination, or one that is not HOST:PORT',
  ERR_RMMAP_PUSH_BAD_TOKEN: 'a token that is empty or longer than allowed',
  ERR_RMMAP_PUSH_BAD_CHECKSUM: 'a checksum name this Node cannot compute',
  ERR_RMMAP_PUSH_NOT_A_FILE: 'the path to push is not a regular file',
  ERR_RMMAP_PUSH_INTERNAL: 'a thread crashed: a bug',
  ERR_OUT_OF_RANGE: 'a number (size, offset, count, key) outside its range',
  ENOENT: 'the file to push or the receive directory does not exist',
  ENOTDIR: 'the receive directory is not a directory',
  EIO: 'the token file could not be read',
  ECONNREFUSED: 'nothing listens at the destination',
  ECONNRESET: 'the peer reset the connection',
  EPIPE: 'the peer closed the connection while data was sent',
} as const;

export type PushCode = keyof typeof PUSH_CODES;

// Every receiver status has its sender-side code in the table.
type StatusCodes = `ERR_RMMAP_PUSH_${PushStatusName}`;
const _everyStatusHasACode: Record<StatusCodes, string> = PUSH_CODES;
void _everyStatusHasACode;
