// Every code this package's errors carry, and what it means. The README's
// "Errors" table lists the same codes (a test keeps the two equal); an error
// class built with a code missing here does not compile. Codes are never
// renamed or reused.

import type { StatusName } from './protocol/layout';

export const TINYFILE_CODES = {
  ERR_TINYFILE_NOT_RUNNING: 'nothing listens at the socket path',
  ERR_TINYFILE_DAEMON_GONE: 'the daemon died or closed the connection; the call failed',
  ERR_TINYFILE_BUSY: 'no segment became free within `connectTimeout`, tinyd is shutting down, or it has `--max-connections` connections open',
  ERR_TINYFILE_CLOSED: 'the client was closed',
  ERR_TINYFILE_TIMEOUT: 'tinyd did not answer a status request in time',
  ERR_TINYFILE_CORRUPT_INPUT: 'snappy data that does not decode; `err.offset` is the input byte',
  ERR_TINYFILE_BAD_CHECKSUM: 'a framed chunk whose CRC-32C does not match',
  ERR_TINYFILE_WINDOW: 'a raw block whose copies reach back further than 64 KiB (see "Missing")',
  ERR_TINYFILE_TOO_LARGE: 'a raw block declares more than `maxOutputLength` bytes',
  ERR_TINYFILE_BUFFER_TOO_SMALL: '`decompressInto()` / `compressInto()`: the target is smaller than the output can be (nothing was written)',
  ERR_TINYFILE_BAD_REQUEST: '(hostile or buggy clients) a request header out of range',
  ERR_TINYFILE_PROTOCOL: 'the peer is not tinyd / not this protocol version, or sent something impossible',
  ERR_TINYFILE_INTERNAL: 'a state that cannot happen: a bug',
  ERR_TINYFILE_UNTRUSTED_DAEMON: 'the process at the socket runs as another uid than the client (and than `daemonUid`); nothing was sent. The message names both uids',
  ERR_TINYFILE_NO_NATIVE_CODEC: '`--codec native` without the optional `snappy` package',
  ERR_TINYFILE_RUNNING: '(tinyd start-up) another tinyd already listens on the socket',
  ERR_SHM_UNSAFE_PATH: '(tinyd start-up) the socket directory is not private (default directory) or can be written by others without the sticky bit (`--socket`)',
  ERR_INVALID_ARG_TYPE: 'an argument of the wrong type',
  ERR_INVALID_ARG_VALUE: 'an argument or option with a value that is not allowed',
  EEXIST: '(tinyd start-up) the socket path exists and is not a socket',
  EISDIR: 'a file call given something that is not a regular file',
} as const;

export type TinyFileCode = keyof typeof TINYFILE_CODES;

// Every failure status the daemon writes into a slot is a code of the table.
const _statusesAreCodes: Record<Exclude<StatusName, 'OK'>, string> = TINYFILE_CODES;
void _statusesAreCodes;
