// Linux ABI constants for x86_64 and aarch64 (identical for everything below
// unless noted). Source: linux/include/uapi at v6.6.

export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;

export const F_DUPFD_CLOEXEC = 1030;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const FD_CLOEXEC = 1;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;

/** Pipe capacity in bytes (fcntl(2) F_SETPIPE_SZ / F_GETPIPE_SZ). */
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
/** Leases: granted only while no other open file or mapping refers to the file (see setLease in file-locks.ts). */
export const F_SETLEASE = 1024;
export const F_GETLEASE = 1025;
/** Open-file-description locks: owned by the open file, not the process (see tryLockOfd in file-locks.ts). */
export const F_OFD_GETLK = 36;
export const F_OFD_SETLK = 37;
export const F_OFD_SETLKW = 38;
/** Lock and lease types (struct flock l_type, F_SETLEASE argument). */
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;

export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const F_SEAL_GROW = 0x0004;
export const F_SEAL_WRITE = 0x0008;
export const F_SEAL_FUTURE_WRITE = 0x0010;

export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
// O_NOFOLLOW and O_DIRECTORY differ on aarch64; see noFollowFlag() in calls.ts.
/**
 * A reference to a path that opens nothing for reading or writing (no side
 * effects on whatever the name is); Node's fs.constants does not name it.
 * Same value on x86_64 and aarch64.
 */
export const O_PATH = 0o10000000;

export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;

export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;

export const MS_ASYNC = 1;
export const MS_INVALIDATE = 2;
export const MS_SYNC = 4;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_REMOVE = 9;

export const FUTEX_WAIT = 0;
export const FUTEX_WAKE = 1;

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const MSG_CTRUNC = 0x08;
export const MSG_TRUNC = 0x20;

export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
/** poll(2): the fd is not open. Reported whatever the requested events. */
export const POLLNVAL = 0x020;

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;
export const EFD_SEMAPHORE = 1;

export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const SPLICE_F_MORE = 4;

export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_RMID = 0;
export const IPC_STAT = 2;
export const IPC_PRIVATE = 0;

export const _SC_PAGESIZE = 30;

/** statfs(2) f_type of tmpfs (and so of /dev/shm and memfds): linux/magic.h. */
export const TMPFS_MAGIC = 0x01021994;

/** `syscall(2)` numbers that differ between architectures. */
export const SYS = process.arch === 'arm64'
  ? { futex: 98, memfd_create: 279, gettid: 178, flock: 32 }
  : { futex: 202, memfd_create: 319, gettid: 186, flock: 73 };

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;

// errno values the non-blocking calls answer with (Linux, every arch shmkit runs on).
export const EINTR = 4;
export const EAGAIN = 11;
