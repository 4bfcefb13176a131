import { ShmkitError } from '@shmkit/shm-fd';

/**
 * Base class of every error tinyfile throws. Match on `err.code`:
 *
 * - `ERR_TINYFILE_CORRUPT_INPUT`: snappy data that does not decode (bad tag, bad length, bad checksum)
 * - `ERR_TINYFILE_BAD_REQUEST`: a request whose header fields are out of range (a hostile or buggy client)
 * - `ERR_TINYFILE_WINDOW`: a streamed raw block copies from further back than the 64 KiB tinyd keeps
 * - `ERR_TINYFILE_DAEMON_GONE`: the daemon closed the connection or died
 * - `ERR_TINYFILE_NOT_RUNNING`: no daemon listens at the socket path
 * - `ERR_TINYFILE_PROTOCOL`: the peer spoke another protocol version or sent a malformed handshake
 * - `ERR_TINYFILE_BUSY`: no shared segment became free before the connect timeout
 * - `ERR_TINYFILE_CLOSED`: the client was closed
 * - `ERR_TINYFILE_TOO_LARGE`: the declared output is larger than `maxOutputLength`
 */
export class TinyFileError extends ShmkitError {}

/** Snappy data that fails to decode; `offset` is where in the input it went wrong, when known. */
export class CorruptInputError extends TinyFileError {
  readonly offset: number | undefined;
  constructor(message: string, offset?: number, code = 'ERR_TINYFILE_CORRUPT_INPUT') {
    super(code, offset === undefined ? message : `${message} (at input byte ${offset})`);
    this.offset = offset;
  }
}

/** The daemon went away, or was never there. */
export class DaemonError extends TinyFileError {}

export class TinyFileClosedError extends TinyFileError {
  constructor() {
    super('ERR_TINYFILE_CLOSED', 'the TinyFile client is closed; connect a new one');
  }
}
