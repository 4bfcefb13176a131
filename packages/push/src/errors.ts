import { RmmapError } from '@shmkit/rmmap/errors';

import type { PushCode } from './codes';

/**
 * Everything the push side throws or reports. Match on `code`:
 * ERR_RMMAP_PUSH_<STATUS> for a receiver's refusal (see codes.ts),
 * ERR_RMMAP_PUSH_BAD_REPLY, ERR_RMMAP_PUSH_PEER_CLOSED, ERR_RMMAP_PUSH_TIMEOUT,
 * ERR_RMMAP_PUSH_BAD_DESTINATION, ERR_RMMAP_PUSH_NOT_A_FILE, ERR_RMMAP_PUSH_ABORTED, ERR_RMMAP_PUSH_FILE_CHANGED,
 * ERR_RMMAP_PUSH_BAD_NAME, ERR_RMMAP_PUSH_BAD_CHECKSUM, ERR_RMMAP_PUSH_BAD_TOKEN, ERR_RMMAP_PUSH_INTERNAL,
 * or an errno name (ECONNREFUSED, EPIPE, ECONNRESET, ENOENT…) from the system.
 */
export class PushError extends RmmapError<PushCode> {}

/**
 * The errno name a failed system call carries (ENOENT, EACCES…), passed on as
 * a PushError's code. The system's set of names is open, so they cannot all
 * be in PUSH_CODES; anything that is not an errno name becomes `fallback`.
 */
export function systemCode(err: unknown, fallback: PushCode): PushCode {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? (code as PushCode) : fallback;
}
