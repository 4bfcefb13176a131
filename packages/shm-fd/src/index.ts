export { SharedFd, validateSharedFd, type SealName, type FromEnvOptions, type CreateOptions, type OpenOptions } from './shared-fd';
export {
  listenFds,
  parseListenFds,
  listenEnv,
  isValidFdName,
  unsetListenEnv,
  LISTEN_FDS_START,
  SHM_SHARED_FD,
  type ListenFd,
  type ListenFdsState,
  type ListenFdsOptions,
} from './listen-fds';
export { sdNotify, notifyFdStore, notifyReady } from './sd-notify';
export { NotifyRelay, filterNotifyMessage, notifyOption, NOTIFY_MODES, MAX_NOTIFY_BYTES, MAX_NOTIFY_PER_SECOND, type NotifyMode, type NotifyRelayOptions } from './notify-relay';
export { spawnWithSharedFd, type SpawnSharedOptions } from './spawn';
export { acquireSharedFile, type Acquired, type AcquireOptions } from './acquire-shared-file';
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
export { activatedSocket, listenActivated, type ActivatedSocket, type ActivatedSocketOptions, type SocketFamily } from './activated-socket';
export { ServiceNotifier, watchdogInterval, type ServiceNotifierOptions } from './service-notifier';
export {
  DaemonLogger,
  isJournalStream,
  parseLogLevel,
  parseLogFormat,
  LOG_LEVELS,
  LOG_FORMATS,
  type DaemonLoggerOptions,
  type LogLevel,
  type LogFormat,
  type LogFields,
} from './daemon-logger';
export { SHM_FD_CODES, type ShmFdCode } from './codes';
