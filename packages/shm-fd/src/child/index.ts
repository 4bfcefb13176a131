// Internal to shmkit: the child-process handling shared by the shm-fd and
// shm-restore wrappers. Not a stable API.
export { spawnWithFds, supervise, exitStatus, FORWARDED_SIGNALS, type ChildSpec, type ChildExit } from './supervise';
export { resolveCommand, type Resolved } from './resolve-command';
export { acquireSharedFile, type Acquired, type AcquireOptions } from '../cli/acquire';
export { parseSize, formatSize } from '../cli/size';
export { UsageError } from '../cli/usage-error';
export { splitOption, takeValue } from '../cli/option';
export { stdio, type Io } from '../cli/io';
export { packageVersion } from '../cli/version';
