import { createExternalBuffer, createPointer, DataType, freePointer, load, open, PointerType, unwrapPointer } from 'ffi-rs';

/**
 * The raw libc calls shmkit uses. Each returns the C return value and the
 * errno observed right after the call. Pointers are plain numbers: user-space
 * addresses on Linux fit in 47 bits, well inside a double's 53.
 *
 * Everything above this interface is written against it, so tests can swap in
 * a fake with `setLibc()` (libc behind an interface).
 */
export interface Libc {
  memfd_create(name: string, flags: number): Ret;
  fcntl(fd: number, cmd: number, arg: number): Ret;
  ftruncate(fd: number, length: number): Ret;
  posix_fallocate(fd: number, offset: number, length: number): Ret;
  shm_open(name: string, oflag: number, mode: number): Ret;
  shm_unlink(name: string): Ret;
  open(path: string, oflag: number, mode: number): Ret;
  close(fd: number): Ret;
  dup(fd: number): Ret;
  dup3(fd: number, to: number, flags: number): Ret;
  mmap(addr: number, length: number, prot: number, flags: number, fd: number, offset: number): Ret;
  munmap(addr: number, length: number): Ret;
  msync(addr: number, length: number, flags: number): Ret;
  madvise(addr: number, length: number, advice: number): Ret;
  syscall6(nr: number, a: number, b: number, c: number, d: number, e: number, f: number): Ret;
  socket(domain: number, type: number, protocol: number): Ret;
  socketpair(domain: number, type: number, protocol: number, sv: number): Ret;
  bind(fd: number, addr: number, len: number): Ret;
  connect(fd: number, addr: number, len: number): Ret;
  sendmsg(fd: number, msg: number, flags: number): Ret;
  recvmsg(fd: number, msg: number, flags: number): Ret;
  poll(fds: number, nfds: number, timeoutMs: number): Ret;
  setsockopt(fd: number, level: number, name: number, value: number, len: number): Ret;
  getsockopt(fd: number, level: number, name: number, value: number, lenPtr: number): Ret;
  getsockname(fd: number, addr: number, lenPtr: number): Ret;
  eventfd(initval: number, flags: number): Ret;
  read(fd: number, buf: number, count: number): Ret;
  write(fd: number, buf: number, count: number): Ret;
  pread(fd: number, buf: number, count: number, offset: number): Ret;
  pwrite(fd: number, buf: number, count: number, offset: number): Ret;
  sendfile(outFd: number, inFd: number, offsetPtr: number, count: number): Ret;
  splice(inFd: number, inOff: number, outFd: number, outOff: number, len: number, flags: number): Ret;
  pipe2(fds: number, flags: number): Ret;
  lseek(fd: number, offset: number, whence: number): Ret;
  shmget(key: number, size: number, flags: number): Ret;
  shmat(id: number, addr: number, flags: number): Ret;
  shmdt(addr: number): Ret;
  shmctl(id: number, cmd: number, buf: number): Ret;
  sysconf(name: number): Ret;
  sched_yield(): Ret;
  getpid(): Ret;
  /** A Buffer over `length` bytes of native memory at `addr`, without copying. */
  externalBuffer(addr: number, length: number): Buffer;
}

export interface Ret {
  value: number;
  errno: number;
}

const LIB = 'libc';
let opened = false;

type Param = DataType;
const I32 = DataType.I32;
const I64 = DataType.I64;
const STR = DataType.String;

function caller(funcName: string, retType: Param, paramsType: Param[]) {
  return (...paramsValue: unknown[]): Ret => {
    if (!opened) {
      open({ library: LIB, path: 'libc.so.6' });
      opened = true;
    }
    const r = load({ library: LIB, funcName, retType, paramsType, paramsValue, errno: true }) as unknown as {
      value: number;
      errnoCode: number;
    };
    // errno is only meaningful when the call reported failure.
    return { value: r.value, errno: r.value === -1 ? r.errnoCode : 0 };
  };
}

/** posix_fallocate reports failure by returning the error number itself. */
function directErrno(fn: (...a: unknown[]) => Ret) {
  return (...a: unknown[]): Ret => {
    const r = fn(...a);
    return r.value === 0 ? r : { value: -1, errno: r.value };
  };
}

export const ffiLibc: Libc = {
  memfd_create: caller('memfd_create', I32, [STR, I32]),
  fcntl: caller('fcntl', I32, [I32, I32, I64]),
  ftruncate: caller('ftruncate', I32, [I32, I64]),
  posix_fallocate: directErrno(caller('posix_fallocate', I32, [I32, I64, I64])),
  shm_open: caller('shm_open', I32, [STR, I32, I32]),
  shm_unlink: caller('shm_unlink', I32, [STR]),
  open: caller('open', I32, [STR, I32, I32]),
  close: caller('close', I32, [I32]),
  dup: caller('dup', I32, [I32]),
  dup3: caller('dup3', I32, [I32, I32, I32]),
  mmap: caller('mmap', I64, [I64, I64, I32, I32, I32, I64]),
  munmap: caller('munmap', I32, [I64, I64]),
  msync: caller('msync', I32, [I64, I64, I32]),
  madvise: caller('madvise', I32, [I64, I64, I32]),
  syscall6: caller('syscall', I64, [I64, I64, I64, I64, I64, I64, I64]),
  socket: caller('socket', I32, [I32, I32, I32]),
  socketpair: caller('socketpair', I32, [I32, I32, I32, I64]),
  bind: caller('bind', I32, [I32, I64, I32]),
  connect: caller('connect', I32, [I32, I64, I32]),
  sendmsg: caller('sendmsg', I64, [I32, I64, I32]),
  recvmsg: caller('recvmsg', I64, [I32, I64, I32]),
  poll: caller('poll', I32, [I64, I64, I32]),
  setsockopt: caller('setsockopt', I32, [I32, I32, I32, I64, I32]),
  getsockopt: caller('getsockopt', I32, [I32, I32, I32, I64, I64]),
  getsockname: caller('getsockname', I32, [I32, I64, I64]),
  eventfd: caller('eventfd', I32, [I32, I32]),
  read: caller('read', I64, [I32, I64, I64]),
  write: caller('write', I64, [I32, I64, I64]),
  pread: caller('pread', I64, [I32, I64, I64, I64]),
  pwrite: caller('pwrite', I64, [I32, I64, I64, I64]),
  sendfile: caller('sendfile', I64, [I32, I32, I64, I64]),
  splice: caller('splice', I64, [I32, I64, I32, I64, I64, I32]),
  pipe2: caller('pipe2', I32, [I64, I32]),
  lseek: caller('lseek', I64, [I32, I64, I32]),
  shmget: caller('shmget', I32, [I32, I64, I32]),
  shmat: caller('shmat', I64, [I32, I64, I32]),
  shmdt: caller('shmdt', I32, [I64]),
  shmctl: caller('shmctl', I32, [I32, I32, I64]),
  sysconf: caller('sysconf', I64, [I32]),
  sched_yield: caller('sched_yield', I32, []),
  getpid: caller('getpid', I32, []),
  externalBuffer(addr: number, length: number): Buffer {
    // ffi-rs only wraps pointers it handed out itself, so box the address in
    // a native cell and unwrap it into an External.
    const cell = createPointer({ paramsType: [I64], paramsValue: [addr] });
    try {
      const [external] = unwrapPointer(cell);
      if (external === undefined) throw new Error('ffi-rs returned no pointer');
      return createExternalBuffer(external, length);
    } finally {
      freePointer({ paramsType: [I64], paramsValue: cell, pointerType: PointerType.RsPointer });
    }
  },
};

let current: Libc = ffiLibc;

/** The libc implementation in use. */
export function libc(): Libc {
  return current;
}

/** Replace the libc implementation (tests only); returns the previous one. */
export function setLibc(impl: Libc): Libc {
  const prev = current;
  current = impl;
  return prev;
}
