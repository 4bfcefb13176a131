import type { ChildProcess } from 'node:child_process';

import { spawnWithFds, type ChildSpec } from '@shmkit/kit/child';

import { listenEnv, SHM_SHARED_FD } from './listen-fds';
import type { SharedFd } from './shared-fd';

export interface SpawnSharedOptions {
  /** LISTEN_FDNAMES entry; default SHM_SHARED_FD. */
  name?: string;
  env?: Record<string, string | undefined>;
  stdio?: ChildSpec['stdio'];
  cwd?: string;
}

/**
 * Starts `command` with `shared` at fd 3, described by LISTEN_FDS=1,
 * LISTEN_FDNAMES=SHM_SHARED_FD and LISTEN_PID = the child's pid, exactly as
 * `shm-fd run` does, so `SharedFd.fromEnv()` (or libsystemd) in the child
 * finds it. The child gets its own copy of the fd; `shared` stays ours.
 */
export function spawnWithSharedFd(shared: SharedFd, command: string, args: readonly string[] = [], options: SpawnSharedOptions = {}): ChildProcess {
  return spawnWithFds({
    command,
    args,
    fds: [shared.fd],
    env: { ...options.env, ...listenEnv([options.name ?? SHM_SHARED_FD]) },
    stdio: options.stdio,
    cwd: options.cwd,
  });
}
