import fs from 'node:fs';
import path from 'node:path';

import { checkSharedDir, createOwnedFile } from './owned-path';

/*
 * Replacing a file so that every reader, and the file after a crash, sees
 * either the old or the new complete content: write a temp file beside it
 * (same directory, so rename(2) is atomic), then rename it over. The temp
 * file is created like every shared path (O_EXCL, O_NOFOLLOW, ours, 0600),
 * so a name planted in the directory can neither receive nor redirect the
 * data. `durable` adds the two fsyncs that make the replacement survive a
 * power loss: the data before the rename, the directory after it.
 */

/*
 * node:crypto is loaded on first use, not when this module is: every shmkit
 * process and worker thread loads the libc layer, and with crypto loaded
 * there tinyd's two-client decompression ran about a fifth slower (measured
 * A/B, long after the load itself), although nothing on that path uses it.
 */
let crypto: typeof import('node:crypto') | undefined;
function randomBytes(n: number): Buffer {
  crypto ??= require('node:crypto') as typeof import('node:crypto');
  return crypto.randomBytes(n);
}

export interface AtomicReplaceOptions {
  /** fsync the directory after the rename, so the new name survives a crash. */
  durable?: boolean;
}

export interface WriteFileAtomicOptions extends AtomicReplaceOptions {
  /** Permission bits of the new file; default 0600. */
  mode?: number;
}

/**
 * A fresh, unpredictable temp path beside `file`:
 * `.NAME.TAG-PID-RANDOM.tmp` in the same directory. The pid lets a cleaner
 * tell a live writer's temp file from one a killed writer left.
 */
export function tempPathBeside(file: string, tag = 'atomic'): string {
  const rand = randomBytes(4).toString('hex');
  return path.join(path.dirname(file), `.${path.basename(file)}.${tag}-${process.pid}-${rand}.tmp`);
}

/** fsync(2) of a directory: makes the entries created, renamed or removed in it durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Renames a complete temp file over `finalPath` (atomic within one file
 * system) and, when `durable`, syncs the directory. Syncing the temp file's
 * data first is the caller's part: it holds the fd.
 */
export function atomicReplace(tempPath: string, finalPath: string, options: AtomicReplaceOptions = {}): void {
  fs.renameSync(tempPath, finalPath);
  if (options.durable === true) fsyncDir(path.dirname(finalPath));
}

/**
 * Replaces `file` with `data`, atomically: a temp file beside it (created
 * through createOwnedFile), written whole, fsynced when `durable`, renamed
 * over `file`, and the directory fsynced when `durable`. The directory
 * must be ours or root's, and sticky if others can write it (checkSharedDir):
 * elsewhere another user could swap the temp file before the rename. On any
 * failure `file` is left as it was and the temp file is removed.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): void {
  const dir = path.dirname(path.resolve(file));
  checkSharedDir(dir);
  const temp = tempPathBeside(path.resolve(file));
  // Nothing is removed when this throws: whatever is at the temp name is not ours.
  const fd = createOwnedFile(temp, options.mode ?? 0o600);
  const made = fs.fstatSync(fd);
  let open = true;
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let at = 0;
    while (at < buf.length) at += fs.writeSync(fd, buf, at, buf.length - at);
    if (options.durable === true) fs.fsyncSync(fd);
    open = false;
    fs.closeSync(fd);
    atomicReplace(temp, file, options);
  } catch (err) {
    if (open) {
      try {
        fs.closeSync(fd);
      } catch {
        // the write's error is the one to report
      }
    }
    removeIfSame(temp, made);
    throw err;
  }
}

/**
 * Unlinks `file` only while it is still the file we created: after the
 * rename (a failed directory sync) the name is free, and whatever another
 * process put there since is not ours to remove.
 */
function removeIfSame(file: string, made: fs.Stats): void {
  try {
    const st = fs.lstatSync(file);
    if (st.ino === made.ino && st.dev === made.dev) fs.unlinkSync(file);
  } catch {
    // gone already
  }
}
