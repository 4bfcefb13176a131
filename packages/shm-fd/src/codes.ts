// Every code this package's errors carry, and what it means. The README's
// "Errors" table lists the same codes (a test keeps the two equal); an error
// class built with a code missing here does not compile. Codes are never
// renamed or reused.

export const SHM_FD_CODES = {
  ERR_INVALID_ARG_VALUE: 'an argument or option with a value that is not allowed',
  ERR_OUT_OF_RANGE: 'a number (size, offset, count, key) outside its range',
  ERR_SHM_SIZE_TOO_LARGE: 'a length past what one Buffer can hold (`buffer.constants.MAX_LENGTH`)',
  ERR_SHM_MAP_BEYOND_EOF: 'a mapping that reaches past the end of the file',
  ERR_SHM_MAPPED: 'resizing a SharedFd that still has live mappings',
  ERR_SHM_CLOSED: 'a handle (SharedFd, Mapping) used after `close()`',
  ERR_SHM_BAD_FD: 'an inherited fd that is not open, not a regular file, or not a memfd/tmpfs file',
  ERR_SHM_NO_FD: 'a socket that has no file descriptor (not connected or listening yet, or closed)',
  ERR_SHM_UNSAFE_PATH: 'a shared path is a symlink, owned by another user, or writable by others',
  ERR_SHM_LISTEN_PID: 'LISTEN_PID is not a process id',
  ERR_SHM_LISTEN_FDS: 'LISTEN_FDS is not a count of fds',
  ERR_SHM_LISTEN_FDNAMES: 'LISTEN_FDNAMES does not match LISTEN_FDS or holds an invalid name',
  ERR_SHM_NOTIFY_SOCKET: 'NOTIFY_SOCKET is neither an absolute path nor an @abstract name',
  ERR_USAGE: 'a command line the `shm-fd` CLI cannot use (exit status 2)',
  ERR_SHM_LISTEN_SOCKET: 'a socket passed by socket activation (LISTEN_FDS) that is not a listening socket of the family and type the daemon serves',
  ERR_DLOPEN: 'a C library that `sys.openForeignLibrary` could not load (the message names the path and the reason)',
  EACCES: 'a system call was refused for lack of permission (`SystemError`)',
  EEXIST: 'an exclusive create found the name taken (`SystemError`)',
  EINVAL: 'the kernel refused an argument (`SystemError`)',
  ENOENT: 'a file or shm name that does not exist (`SystemError`)',
  EPERM: 'an operation the kernel does not permit, such as adding seals to a sealed memfd (`SystemError`)',
  SHM_LEAK: 'a process warning, not an error: a mapping was garbage-collected without `close()` (the backstop unmapped it)',
} as const;

export type ShmFdCode = keyof typeof SHM_FD_CODES;
