// Every code this package's errors carry, and what it means. The README's
// "Errors" table lists the same codes (a test keeps the two equal); an error
// class built with a code missing here does not compile. Codes are never
// renamed or reused.

export const SHM_STATE_CODES = {
  ERR_SHM_STATE_BAD_HEADER: 'a structure header in shared memory does not match (magic, version, geometry)',
  ERR_SHM_STATE_CORRUPT: 'a word of an open structure holds a value it cannot have: a process sharing the memory wrote it',
  ERR_SHM_STATE_TOO_SMALL: 'the memory cannot hold the structure',
  ERR_SHM_STATE_ALIGNMENT: 'the offset is not aligned as the structure requires',
  ERR_SHM_STATE_MESSAGE_TOO_LARGE: 'a message, key or value larger than the structure takes',
  ERR_SHM_STATE_BUFFER_TOO_SMALL: 'a destination buffer too small for the next message',
  ERR_SHM_STATE_FULL: 'a hash map or region directory has no room left',
  ERR_SHM_STATE_NOT_OWNER: 'unlocking a lock or permit this process does not hold (it may have been taken over)',
  ERR_SHM_STATE_NO_FUTEX: 'a blocking wait over memory that is neither a shmkit mapping nor a SharedArrayBuffer',
  ERR_SHM_STATE_NO_SHARED_FD: 'ShmState.fromEnv() found no SHM_SHARED_FD in LISTEN_FDS',
  ERR_SHM_STATE_NO_REGION: 'no region of that name in the region directory',
  ERR_SHM_STATE_KIND_MISMATCH: 'a region holds another kind of structure than asked',
  ERR_SHM_STATE_LAYOUT_MISMATCH: 'a Struct in memory has another layout or version than the code',
  ERR_SHM_STATE_BAD_LAYOUT: 'a struct layout that does not validate',
  ERR_INVALID_ARG_TYPE: 'an argument of the wrong type',
  ERR_INVALID_ARG_VALUE: 'an argument or option with a value that is not allowed',
  ERR_OUT_OF_RANGE: 'a number (size, offset, count, key) outside its range',
  ERR_SHM_CLOSED: 'a structure used after its memory was closed',
  ABORT_ERR: 'a wait was aborted through its AbortSignal',
  ETIMEDOUT: 'a lock stayed held, or a structure stayed mid-creation, past its wait (`withLock…`, HashMap, region directory)',
  SHMKIT_DOORBELL: 'a process warning, not an error: another process\'s doorbell cannot be rung (permission denied or another uid); its async waiters wake late',
} as const;

export type ShmStateCode = keyof typeof SHM_STATE_CODES;
