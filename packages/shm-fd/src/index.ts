export { SharedFd, validateSharedFd, type SealName, type FromEnvOptions, type CreateOptions, type OpenOptions } from './shared-fd';
export {
  listenFds,
  parseListenFds,
  listenEnv,
  unsetListenEnv,
  LISTEN_FDS_START,
  SHM_SHARED_FD,
  type ListenFd,
  type ListenFdsState,
  type ListenFdsOptions,
} from './listen-fds';
export { sdNotify, notifyFdStore, notifyReady } from './sd-notify';
export { spawnWithSharedFd, type SpawnSharedOptions } from './spawn';
export { Mapping, map, type MapOptions } from './sys/memory';
export {
  ShmkitError,
  SystemError,
  ShmArgumentError,
  ShmClosedError,
  UnsafePathError,
  ListenFdsError,
  errnoName,
} from './errors';
export { LogLimiter, type LogLimiterOptions, type LogDecision } from './log-limiter';
export { SHM_FD_CODES, type ShmFdCode } from './codes';
