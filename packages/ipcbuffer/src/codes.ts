// Every code this package's errors carry, and what it means. The README's
// "Errors" table lists the same codes (a test keeps the two equal); an error
// class built with a code missing here does not compile. Codes are never
// renamed or reused.

export const IPCBUFFER_CODES = {
  ERR_INVALID_ARG_TYPE: 'an argument of the wrong type (length not a number, key not a number, unknown form…)',
  ERR_OUT_OF_RANGE: 'a length that is 0 (for shared kinds), negative, fractional, larger than `/dev/shm` or `kernel.shmmax`; a key of 0 or outside `key_t`; an alias outside its parent; mode outside `0o777`; an empty file without a length',
  ERR_SHM_SIZE_TOO_LARGE: 'a length past what one Buffer can hold (`buffer.constants.MAX_LENGTH`, 4 GiB on Node 20), or an existing object that large opened without a length: refused before anything is created or mapped',
  ERR_INVALID_ARG_VALUE: 'an invalid POSIX name, encoding, path, `exclusive` without a length, a lock placed in non-shared memory; a `mode` with group/other write bits (at most `0o644`)',
  ERR_SHM_UNSAFE_PATH: 'a POSIX object or file that is a symlink, not a regular file, owned by another uid (root too), or writable by group/others; a System V segment owned or created by another uid or writable by others',
  ENOENT: 'opening a missing object/file without a length or with `create: false`; removing a missing one',
  EACCES: 'the object belongs to another user or its mode forbids read-write access',
  EEXIST: '`exclusive: true` and it exists',
  EINVAL: 'an existing System V segment is smaller than asked',
  EISDIR: 'a directory given as a file',
  EBADF: '`fromFd` of a closed fd',
  ENOSPC: 'no room for `reserve`',
  ERR_SHM_CLOSED: '`sync()` after `close()`; any use of an `IPCMutex.at`/`IPCSemaphore.at` lock after its buffer was closed, or placing one in a closed buffer',
  ERR_SHM_STATE_BAD_HEADER: 'a lock\'s memory holds a damaged lock header (from shm-state)',
  ERR_SHM_STATE_NOT_OWNER: 'releasing a lock another process took over (from shm-state)',
  ERR_IPCBUFFER_LOCK_TIMEOUT: 'an IPCMutex or IPCSemaphore was not acquired within the timeout',
  ERR_IPCBUFFER_LOCK_STATE: 'releasing an IPCMutex this thread does not hold, or an IPCSemaphore past what it holds; `lockSync()` on an IPCMutex this thread holds',
  ERR_IPCBUFFER_LOCK_CLOSED: 'a lock used after its `close()`',
  ERR_IPCBUFFER_NOT_A_LOCK: 'a lock opened on memory that holds something else',
  ERR_IPCBUFFER_UNSAFE_REGISTRY: '`ipcbuffer ls/rm` on a registry that is not a private (0700) directory of ours',
  ERR_IPCBUFFER_NOT_REGISTERED: '`ipcbuffer rm` of an object this user\'s registry has no record of (without `--force`), or of such a file (always)',
  ERR_IPCBUFFER_NOT_OWNER: '`ipcbuffer rm` of an object another uid owns or created (root: unless `--force`)',
  ABORT_ERR: 'a lock wait was aborted through its AbortSignal',
  SHM_LEAK: 'a process warning, not an error: an IPCBuffer was garbage-collected without `close()` (the backstop closed its fd)',
} as const;

export type IPCBufferCode = keyof typeof IPCBUFFER_CODES;
