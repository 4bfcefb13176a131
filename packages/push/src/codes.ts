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
export function errorCodeOf(status: number): string {
  const name = PushStatusName[status];
  return name === undefined ? 'ERR_RMMAP_PUSH_UNKNOWN_STATUS' : `ERR_RMMAP_PUSH_${name}`;
}
