// Running a wrapper's child command: finding it as a shell would, passing
// fds at 3… with LISTEN_PID its own pid, forwarding signals while waiting.
// Internal to shmkit's packages.
export { spawnWithFds, supervise, exitStatus, FORWARDED_SIGNALS, type ChildSpec, type ChildExit } from './supervise';
export { resolveCommand, type Resolved } from './resolve-command';
