import fs from 'node:fs';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { ShmSnapshotError } from '../errors';
import { resolveBackup } from './backup-target';

/**
 * Files beside BACKUP. A replacement is written as
 * `.NAME.shm-restore-PID-RANDOM.tmp` in the same directory (so rename() is
 * atomic), synced, renamed over BACKUP, and the directory synced: BACKUP is
 * at every instant either the old or the new complete file.
 *
 * Every file here is opened with O_NOFOLLOW and checked to be ours
 * (shm-fd's openOwnedFile); new ones are created O_EXCL, 0600.
 */
export class BackupPath {
  readonly file: string;
  readonly dir: string;
  readonly base: string;
  /** A temp file holding a replaced BACKUP, recycled by the next replace(). */
  #spare: string | null = null;
  #lockFd: number | null = null;

  /** A BACKUP at `file`, taken as it is: use BackupPath.open() for a path a user named. */
  constructor(file: string) {
    this.file = path.resolve(file);
    this.dir = path.dirname(this.file);
    this.base = path.basename(this.file);
  }

  /**
   * The BACKUP a user named, resolved once (see resolveBackup): a symlink of
   * this user's or root's is followed to its target, which is then all this
   * object touches; anything another user could have planted is refused
   * with ERR_SHM_UNSAFE_PATH.
   */
  static open(file: string): BackupPath {
    return new BackupPath(resolveBackup(file));
  }

  #tempPattern(): RegExp {
    const esc = this.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`^\\.${esc}\\.shm-restore-(\\d+)-[0-9a-f]+\\.tmp$`);
  }

  tempName(): string {
    return sys.tempPathBeside(this.file, 'shm-restore');
  }

  /**
   * Takes the lock that makes this process the only shm-restore using
   * BACKUP: an open-file-description lock (F_OFD_SETLK) on
   * `.NAME.shm-restore.lock` beside it, released by the kernel when this
   * process dies, however it dies. Throws ERR_SNAPSHOT_BACKUP_BUSY when
   * another process holds it.
   */
  lock(): void {
    if (this.#lockFd !== null) return;
    // The lock file stays between runs, so an existing one is reused, but
    // only if it is a regular file of ours.
    const { fd } = sys.openOrCreateOwnedFile(path.join(this.dir, `.${this.base}.shm-restore.lock`));
    let locked: boolean;
    try {
      locked = sys.tryLockOfd(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    if (!locked) {
      fs.closeSync(fd);
      throw new ShmSnapshotError('ERR_SNAPSHOT_BACKUP_BUSY', `${this.file} is in use by another shm-restore; two wrappers must not write one BACKUP`);
    }
    this.#lockFd = fd;
  }

  /**
   * Removes temp files left by runs that were killed. Call with the lock
   * held: then no other live wrapper writes beside this BACKUP, so every
   * temp file not of this process is stale. Returns the names removed.
   */
  removeStaleTemps(): string[] {
    const pattern = this.#tempPattern();
    const removed: string[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return removed;
    }
    const uid = process.geteuid?.() ?? 0;
    for (const name of names) {
      const m = pattern.exec(name);
      if (m === null || Number(m[1]) === process.pid) continue;
      try {
        // Only what a wrapper of this user left; another user's file is theirs.
        const st = fs.lstatSync(path.join(this.dir, name));
        if (!st.isFile() || st.uid !== uid) continue;
        fs.unlinkSync(path.join(this.dir, name));
        removed.push(name);
      } catch {
        // raced with another cleaner
      }
    }
    return removed;
  }

  /** The size of BACKUP, or null when it does not exist. Throws ERR_SHM_UNSAFE_PATH for anything but a regular file of ours. */
  size(): number | null {
    try {
      const st = fs.lstatSync(this.file);
      sys.checkOwnedStat(st, `BACKUP ${this.file}`, 'file');
      return st.size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Creates an empty BACKUP (0600) if none exists, durably. */
  createEmpty(): void {
    const fd = sys.openOwnedFile(this.file, { write: true, create: true, exclusive: true });
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.syncDir();
  }

  /** Moves BACKUP aside to `BACKUP.REASON-TIMESTAMP` (same directory); returns the new path. */
  keepAside(reason: string): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = `${this.file}.${reason}-${stamp}`;
    fs.renameSync(this.file, target);
    this.syncDir();
    return target;
  }

  /** Hard-links BACKUP to `BACKUP.REASON-TIMESTAMP`, keeping the current version when it is about to be replaced. */
  keepCopy(reason: string): string | null {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const target = `${this.file}.${reason}-${stamp}`;
    try {
      fs.linkSync(this.file, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return target;
  }

  /**
   * Writes a new BACKUP: `fill(fd, reused)` writes the temp file, which is
   * then synced and renamed over BACKUP. When `fill` returns false, or on
   * any error, BACKUP is untouched.
   *
   * The replaced BACKUP is not freed but kept (hard-linked) as the next
   * temp file: overwriting allocated blocks in place and never freeing a
   * large file makes a cycle about twice as fast on ext4. `reused` tells
   * `fill` the file holds such older data. It is reused only while nobody
   * else can see it: no other link, and no other process holding it open
   * or mapped (a write lease, which the kernel grants only then), so a
   * reader that opened BACKUP before it was replaced keeps reading a
   * complete version. The spare is a pid-tagged temp file like any other:
   * removed by dispose(), or by the next start.
   */
  replace(fill: (fd: number, reused: boolean) => boolean): boolean {
    const reused = this.#spare !== null;
    const temp = this.#spare ?? this.tempName();
    this.#spare = null;
    let fd: number;
    try {
      fd = sys.openOwnedFile(temp, reused ? { write: true } : { write: true, create: true, exclusive: true });
    } catch (err) {
      if (!reused) throw err;
      return this.replace(fill);
    }
    if (reused && !sys.isSoleUser(fd)) {
      // Someone still reads the version this file held (it was BACKUP a
      // cycle ago), or linked it elsewhere: leave it to them.
      fs.closeSync(fd);
      fs.unlinkSync(temp);
      return this.replace(fill);
    }
    let renamed = false;
    try {
      if (!fill(fd, reused)) {
        fs.closeSync(fd);
        this.#spare = temp;
        return false;
      }
      // Data and the size it needs; the rename and directory sync follow.
      fs.fdatasyncSync(fd);
      fs.closeSync(fd);
      const spare = this.tempName();
      let kept = true;
      try {
        fs.linkSync(this.file, spare);
      } catch {
        kept = false;
      }
      fs.renameSync(temp, this.file);
      renamed = true;
      this.syncDir();
      if (kept) this.#spare = spare;
      return true;
    } catch (err) {
      if (!renamed) {
        try {
          fs.closeSync(fd);
        } catch {
          // already closed
        }
        try {
          fs.unlinkSync(temp);
        } catch {
          // never created
        }
      }
      throw err;
    }
  }

  /** Removes the spare temp file, if any, and releases the lock. Idempotent. */
  dispose(): void {
    const spare = this.#spare;
    this.#spare = null;
    if (this.#lockFd !== null) {
      fs.closeSync(this.#lockFd);
      this.#lockFd = null;
    }
    if (spare === null) return;
    try {
      fs.unlinkSync(spare);
    } catch {
      // already gone
    }
  }

  syncDir(): void {
    sys.fsyncDir(this.dir);
  }
}

