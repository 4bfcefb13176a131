import { packageVersion } from '@shmkit/shm-fd/unstable-child-process';

/** shm-restore's version: that of @shmkit/shm-snapshot. */
export function version(): string {
  return packageVersion('@shmkit/shm-snapshot', __dirname);
}
