// The libc layer: thin, Node-shaped wrappers over the system calls every
// shmkit package needs. Errors are SystemError { code, errno, syscall }.
export * as constants from './constants';
export { libc, setLibc, ffiLibc, type Libc, type Ret } from './libc';
export {
  check,
  pageSize,
  memfdCreate,
  fcntl,
  getSeals,
  addSeals,
  sealSize,
  setCloexec,
  isCloexec,
  ftruncate,
  fallocate,
  fstat,
  shmOpen,
  shmUnlink,
  validateShmName,
  isValidShmName,
  open,
  close,
  dup,
  dup2,
  eventfd,
  tryLockExclusive,
  schedYield,
  getpid,
  gettid,
  processAlive,
} from './calls';
export { Mapping, map, mapAnonymous, adoptMapping, checkMappableSize, type MapOptions } from './memory';
export { futexWait, futexWake, addressOf, type FutexWaitResult } from './futex';
export {
  unixSocket,
  socketPair,
  bindUnix,
  connectUnix,
  unixSocketName,
  sendWithFds,
  recvWithFds,
  poll,
  type SendOptions,
  type Received,
} from './socket';
export { sendfile, splice, pipe, setPipeSize, readAt, writeAt } from './io';
export { getScratch } from './scratch';
export { openForeignLibrary, type ForeignLibrary, type ForeignType } from './foreign-library';
export { setSockOpt, getSockOpt, setSendTimeout, peerCredentials, type PeerCredentials, SOL_SOCKET, SO_TYPE, SO_ACCEPTCONN, SO_DOMAIN, SO_PEERCRED, SO_SNDBUF, SO_RCVBUF, SO_RCVLOWAT, SO_SNDTIMEO, SO_RCVTIMEO, IPPROTO_TCP, TCP_NODELAY } from './sockopt';
export { lseek, dataExtents, SEEK_SET, SEEK_DATA, SEEK_HOLE, type Extent } from './seek';
export { shmget, shmdt, sysvStat, sysvAttach, sysvRemove, sysvMaxSize, validateSysvKey, type SysvStat } from './sysv';
export { socketFd } from './socket-fd';
export {
  openOwnedFile,
  openOwnedShm,
  createOwnedFile,
  createOwnedShm,
  openOrCreateOwnedFile,
  checkOwnedFd,
  checkOwnedStat,
  ensurePrivateDir,
  checkSharedDir,
  runtimeDir,
  type OwnedOpenOptions,
} from './owned-path';
export { tryLockOfd, setLease, isSoleUser } from './file-locks';
export {
  writeFileAtomic,
  atomicReplace,
  tempPathBeside,
  fsyncDir,
  type WriteFileAtomicOptions,
  type AtomicReplaceOptions,
} from './atomic-file';
