import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';
import { openPrivateFile } from './journal-location';

/*
 * One rmmapd per journal: two servers appending to one journal (or applying
 * writes to one root with two dedupe tables) would break exactly-once.
 *
 * The lock is flock(2) on `<journal>.lock`, a file of its own because
 * compaction renames a new journal over the old one (a lock on the old inode
 * would be gone). The kernel drops a flock when its holder dies, so a
 * kill -9 leaves no stale lock and no pid guessing is needed; the holder's
 * pid is written into the file only to name it in the refusal.
 */

/** A held lock; `release()` unlinks the lock file and closes it. Owns `fd`. */
export interface JournalLock {
  readonly path: string;
  release(): void;
}

function holderPid(fd: number): string {
  const b = Buffer.alloc(32);
  const n = fs.readSync(fd, b, 0, b.length, 0);
  const pid = b.toString('utf8', 0, n).trim();
  return /^\d+$/.test(pid) ? pid : 'unknown';
}

/** Takes the lock of `journal` or throws ERR_RMMAP_JOURNAL_LOCKED naming the holder's pid. */
export function lockJournal(journal: string): JournalLock {
  const lockPath = `${journal}.lock`;
  for (;;) {
    const fd = openPrivateFile(lockPath);
    let locked = false;
    try {
      if (!sys.tryLockExclusive(fd)) {
        const pid = holderPid(fd);
        throw new RmmapError(
          'ERR_RMMAP_JOURNAL_LOCKED',
          `journal ${journal} is in use by another rmmapd (pid ${pid}) serving the same root; stop that one first, or give this one another --journal`,
        );
      }
      // A holder that released between our open and flock has unlinked the
      // file we opened: our lock would be on an orphan. Start over.
      const mine = fs.fstatSync(fd);
      let current: fs.Stats | undefined;
      try {
        current = fs.lstatSync(lockPath);
      } catch {
        current = undefined;
      }
      if (current === undefined || current.ino !== mine.ino || current.dev !== mine.dev) continue;
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `${process.pid}\n`, 0);
      locked = true;
      return {
        path: lockPath,
        release: () => {
          // Unlink while still holding the lock: a waiter that opened the old
          // file sees the inode change above and retries.
          try {
            fs.unlinkSync(lockPath);
          } finally {
            fs.closeSync(fd);
          }
        },
      };
    } finally {
      if (!locked) fs.closeSync(fd);
    }
  }
}
