import { ShmkitError } from '@shmkit/shm-fd';

import type { RmmapCode } from './codes';

/**
 * Base class of every error @shmkit/rmmap throws. Match on `err.code`:
 * codes are stable and never renamed or reused (see codes.ts).
 * `C` is open for subclasses in other packages (push) with tables of their own.
 */
export class RmmapError<C extends string = RmmapCode> extends ShmkitError<C> {}

/** The peer sent bytes that are not a valid frame (see docs/PROTOCOL.md). */
export class RmmapProtocolError extends RmmapError {}

/** The server answered a request with an ERROR frame; `code` is the wire code's name. */
export class RmmapRemoteError extends RmmapError {}

/** The mapping or client was closed (unmapped) before or during the operation. */
export class RmmapClosedError extends RmmapError {
  constructor(what: string) {
    super('ERR_RMMAP_CLOSED', `${what} is closed; map the file again with rmmap()`);
  }
}

/** The server stayed unreachable past the reconnect timeout. */
export class RmmapUnavailableError extends RmmapError {}

/** Invalid arguments given by the caller. */
export class RmmapArgumentError extends RmmapError {}
