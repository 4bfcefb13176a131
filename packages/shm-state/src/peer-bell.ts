import fs from 'node:fs';

/** Why a published bell address was not opened: the pipe is not there, the kernel said no, or our rules said no. */
export type PeerBellRefusal = 'gone' | 'denied' | 'refused';

/**
 * Opens for writing the bell pipe another process published as (pid, fd,
 * ino) in shared memory, or says why not. All three are peer-written:
 *
 * - the process must run under our effective uid: the owner of its
 *   `/proc/<pid>` directory is checked before anything inside it is opened,
 *   so a forged pid cannot make us open descriptors of another user's process
 *   (as root, any process's);
 * - the path is then opened through that directory's fd
 *   (`/proc/self/fd/<dirfd>/fd/<fd>`), which stays bound to the process we
 *   checked: if it exited and its pid was reused, the lookup fails (ESRCH)
 *   instead of reaching the newcomer;
 * - the target must be a pipe with the published inode, checked before
 *   opening and again on the opened file (the fd number may be reused in
 *   between), so a forged address cannot make us write into a file, socket
 *   or terminal.
 *
 * Inodes are compared as the int32 the Notifier stores (pipefs inode
 * numbers are 32-bit; above 2^31 they wrap when published).
 */
// candidate for @shmkit/shm-fd/sys: opening a path under /proc/<pid> of a uid-checked, pinned process
export function openPeerBell(pid: number, fd: number, ino: number): number | PeerBellRefusal {
  let dir = -1;
  try {
    let path = `/proc/self/fd/${fd}`;
    if (pid !== process.pid) {
      dir = fs.openSync(`/proc/${pid}`, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      const owner = fs.fstatSync(dir).uid;
      if (owner !== process.geteuid?.()) return 'refused';
      path = `/proc/self/fd/${dir}/fd/${fd}`;
    }
    const target = fs.statSync(path);
    if (!target.isFIFO() || (target.ino | 0) !== (ino | 0)) return 'gone';
    const w = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    const opened = fs.fstatSync(w);
    if (!opened.isFIFO() || (opened.ino | 0) !== (ino | 0)) {
      fs.closeSync(w);
      return 'gone';
    }
    return w;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EACCES' || code === 'EPERM' ? 'denied' : 'gone';
  } finally {
    if (dir >= 0) fs.closeSync(dir);
  }
}
