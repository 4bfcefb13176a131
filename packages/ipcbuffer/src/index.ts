export { IPCBuffer, type IPCBufferConstructor, type Target } from './ipc-buffer';
export { isIPCBuffer, type IPCBufferKind, type IPCBufferExtras, type SyncOptions } from './buffer';
export type { PosixOptions } from './posix';
export type { FileOptions } from './file';
export type { SysvOptions } from './sysv';
export type { AnonymousOptions } from './anonymous';
export { IPCBufferError, IPCBufferArgumentError, LockTimeoutError, LockStateError } from './errors';
export { registryDir } from './registry';
