import { formatSize } from '@shmkit/kit/cli';

import { parseListenFds } from './listen-fds';
import { notifyFdStore } from './sd-notify';
import { SharedFd, validateSharedFd } from './shared-fd';

export interface AcquireOptions {
  /** The LISTEN_FDNAMES entry to look for and to give a new file. */
  fdName: string;
  /** memfd name of a newly created file. */
  name: string;
  /** Size of a newly created file. */
  size: number;
  /** Use (or create) this tmpfs file instead of a memfd. */
  file?: string;
  /** Use (or create) this POSIX shm object instead of a memfd. */
  shm?: string;
  /** Hears what was reused or created, one line each. */
  log: (msg: string) => void;
}

/** The fds a wrapper hands to its child at 3…, and the shared file among them. */
export interface Acquired {
  fds: number[];
  names: string[];
  /** Index of the shared file in `fds`. */
  index: number;
  /** The file when this process opened it (it owns and closes it); null when inherited. */
  owned: SharedFd | null;
}

/**
 * What a wrapper such as `shm-fd` or `shm-restore` does before starting its
 * child: reuses the shared file passed in LISTEN_FDS under `fdName` (e.g.
 * by the systemd fd store), or creates one, hands it to the service
 * manager's fd store when there is one, and appends it after the inherited
 * fds. Pass `fds` and `names` on to the child (`listenEnv(names)`).
 */
export function acquireSharedFile(o: AcquireOptions): Acquired {
  const state = parseListenFds(process.env, process.pid);
  if (state.status === 'other-pid') {
    o.log(`ignoring LISTEN_FDS: LISTEN_PID=${state.pid} names another process`);
  }
  const inherited = state.status === 'ok' ? state.fds : [];
  const fds = inherited.map((f) => f.fd);
  const names = inherited.map((f) => f.name);
  const found = names.indexOf(o.fdName);
  if (found >= 0) {
    validateSharedFd(fds[found] as number, `LISTEN_FDNAMES names ${o.fdName} at fd ${fds[found]}`);
    o.log(`reusing ${o.fdName} passed at fd ${fds[found]}`);
    return { fds, names, index: found, owned: null };
  }
  let shared: SharedFd;
  let what: string;
  if (o.file !== undefined) {
    shared = SharedFd.openFile(o.file, { create: true, size: o.size });
    what = `file ${o.file}`;
  } else if (o.shm !== undefined) {
    shared = SharedFd.openShm(o.shm, { create: true, size: o.size });
    what = `POSIX shm ${o.shm}`;
  } else {
    shared = SharedFd.create({ name: o.name, size: o.size });
    what = `memfd "${o.name}"`;
  }
  try {
    validateSharedFd(shared.fd, `--file ${o.file ?? o.shm ?? ''}`);
    if (notifyFdStore(shared.fd, o.fdName)) o.log(`passed ${what} to the service manager's fd store as ${o.fdName}`);
  } catch (err) {
    shared.close();
    throw err;
  }
  o.log(`using ${what} (${formatSize(shared.size)}) as ${o.fdName} at fd ${3 + fds.length}`);
  return { fds: [...fds, shared.fd], names: [...names, o.fdName], index: fds.length, owned: shared };
}
