import fs from 'node:fs';
import path from 'node:path';

import { UnsafePathError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

// Linux follows at most 40 symlinks in one lookup (MAXSYMLINKS).
const MAX_LINKS = 40;

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * Resolves the BACKUP path the user named, once, to the file shm-restore
 * then reads and replaces: every later step (lock, temp files, rename) uses
 * the result and never follows a link again, so BACKUP is never half the
 * link (renamed over) and half its target (read through).
 *
 * A symlink on the way is followed only when this user or root owns it; one
 * owned by anyone else is refused, since in a shared directory such as /tmp
 * it could have been planted to point us at another file. The directory the
 * target lies in must be ours or root's, and sticky if others can write it
 * (they could otherwise swap the file or our temp files). An existing
 * target must be a regular file of ours that no other user can write: one
 * that is not could have been planted to be filled with our state.
 *
 * Throws UnsafePathError (ERR_SHM_UNSAFE_PATH) naming the refused path.
 */
// candidate for @shmkit/shm-fd/sys
export function resolveBackup(file: string): string {
  let at = path.resolve(file);
  for (let hops = 0; ; hops++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
      throw err;
    }
    if (!st.isSymbolicLink()) break;
    if (st.uid !== euid() && st.uid !== 0) {
      throw new UnsafePathError(
        `BACKUP ${at} is a symlink owned by uid ${st.uid}, neither this process (uid ${euid()}) nor root: it could have been planted to redirect the backup; remove it or name the target directly`,
        at,
      );
    }
    if (hops >= MAX_LINKS) throw new UnsafePathError(`BACKUP ${file} goes through more than ${MAX_LINKS} symlinks; name the target directly`, file);
    at = path.resolve(path.dirname(at), fs.readlinkSync(at));
  }
  const dir = fs.realpathSync(path.dirname(at));
  const target = path.join(dir, path.basename(at));
  sys.checkSharedDir(dir);
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (st !== null) sys.checkOwnedStat(st, `BACKUP ${target}`, 'file');
  return target;
}
