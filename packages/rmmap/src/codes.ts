// Every code this package's errors carry, and what it means. The README's
// "Errors" table lists the same codes (a test keeps the two equal); an error
// class built with a code missing here does not compile. Codes are never
// renamed or reused.

import type { WireErrorName } from './constants';

export const RMMAP_CODES = {
  ERR_RMMAP_CLOSED: 'the mapping or client was closed before or during the call',
  ERR_RMMAP_UNAVAILABLE: 'the server stayed away past the reconnect timeout, or the first connect failed',
  ERR_RMMAP_LOST: 'after a reconnect the server refused to map the file again; the mapping is dead',
  ERR_RMMAP_READ_ONLY: 'a write to a mapping made read-only, or to a server run with `--read-only`',
  ERR_RMMAP_RANGE: 'a read or write past the mapping, an offset past the file, or a read larger than a frame',
  ERR_RMMAP_AUTH: 'wrong or missing token',
  ERR_RMMAP_BAD_PATH: 'a path that is absolute, has `..`, escapes the root through a symlink, or is not a regular file',
  ERR_RMMAP_EMPTY_FILE: 'the file is empty; rmmap maps existing bytes and does not grow files',
  ERR_RMMAP_TOO_MANY_MAPPINGS: 'the connection holds as many mappings as the server allows',
  ERR_RMMAP_BUDGET: 'a server budget was reached; the message names it, its flag and its value (see Budgets)',
  ERR_RMMAP_UNKNOWN_MAPPING: 'a request for a mapping id this connection does not have',
  ERR_RMMAP_IO: 'the server failed to read or write the file',
  ERR_RMMAP_BAD_FRAME: 'bytes that are not a valid frame (PROTOCOL.md)',
  ERR_RMMAP_FRAME_TOO_LARGE: 'a frame longer than the max frame size',
  ERR_RMMAP_UNKNOWN_TYPE: 'a frame of a type the server does not know',
  ERR_RMMAP_VERSION: 'a protocol version the server does not speak',
  ERR_RMMAP_HANDSHAKE: 'no HELLO first, a second HELLO, or no HELLO_OK in reply',
  ERR_RMMAP_ROOT: 'rmmapd cannot serve the root (missing, not a directory)',
  ERR_RMMAP_JOURNAL_IO: 'reading, growing or compacting the journal failed',
  ERR_RMMAP_JOURNAL_UNSAFE: 'the journal or its directory could be written by another user',
  ERR_RMMAP_JOURNAL_LOCKED: 'another rmmapd holds the journal',
  ERR_RMMAP_JOURNAL_CORRUPT: 'a journal record that does not decode',
  ERR_RMMAP_JOURNAL_BAD_PATH: 'a journal record names a path outside the served root',
  ERR_RMMAP_JOURNAL_ROOT: 'the journal was written for another served root',
  ERR_INVALID_ARG_TYPE: 'an argument of the wrong type',
  ERR_INVALID_ARG_VALUE: 'an argument or option with a value that is not allowed',
  ERR_OUT_OF_RANGE: 'a number (size, offset, count, key) outside its range',
  ERR_RMMAP_TIMEOUT: '`rmmapd status`: the rmmapd did not answer within the timeout',
  ERR_RMMAP_UNTRUSTED_DAEMON: '`rmmapd status`: the process at the control socket runs as a uid that is neither ours nor root',
  ERR_RMMAP_PROTOCOL: '`rmmapd status`: the answer at the control socket is not an rmmapd status (too large or malformed)',
  ERR_RMMAP_NOT_RUNNING: '`rmmapd status`: nothing answers at the control socket',
  ERR_RMMAP_STATUS_REFUSED: '`rmmapd status`: the rmmapd closed without an answer (it answers only its own uid and root)',
  ERR_RMMAP_CONTROL: 'rmmapd cannot create its control socket (an unsafe directory, a live socket at the path, or a non-socket there)',
  ENOENT: 'the file does not exist on the server',
  EACCES: 'the server may not open the file (or not for writing)',
  EISDIR: 'the path is a directory',
} as const;

/** A wire error code this client does not know arrives as ERR_RMMAP_REMOTE_<number>. */
export type RmmapCode = keyof typeof RMMAP_CODES | `ERR_RMMAP_REMOTE_${number}`;

// Every error name the wire carries is a code of the table.
const _wireNamesAreCodes: Record<WireErrorName, string> = RMMAP_CODES;
void _wireNamesAreCodes;
