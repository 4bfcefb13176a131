import { RmmapError } from '@shmkit/rmmap/errors';

/**
 * Everything the push side throws or reports. Match on `code`:
 * ERR_RMMAP_PUSH_<STATUS> for a receiver's refusal (see codes.ts),
 * ERR_RMMAP_PUSH_BAD_REPLY, ERR_RMMAP_PUSH_PEER_CLOSED, ERR_RMMAP_PUSH_TIMEOUT,
 * ERR_RMMAP_PUSH_BAD_DESTINATION, ERR_RMMAP_PUSH_NOT_A_FILE, ERR_RMMAP_PUSH_ABORTED, ERR_RMMAP_PUSH_FILE_CHANGED,
 * ERR_RMMAP_PUSH_BAD_NAME, ERR_RMMAP_PUSH_BAD_CHECKSUM, ERR_RMMAP_PUSH_BAD_TOKEN, ERR_RMMAP_PUSH_INTERNAL,
 * or an errno name (ECONNREFUSED, EPIPE, ECONNRESET, ENOENT…) from the system.
 */
export class PushError extends RmmapError {}
