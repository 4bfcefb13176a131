import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debuglog } from 'node:util';

import * as sys from '@shmkit/shm-fd/sys';

import { IPCBufferError } from './errors';

const debug = debuglog('ipcbuffer');

/**
 * A small per-user record of the named objects shmkit created, so `ipcbuffer
 * ls` can list them with their creator pid. One 0600 JSON file per object in
 * a 0700 directory: $SHMKIT_IPCBUFFER_REGISTRY, else $XDG_RUNTIME_DIR/shmkit-ipcbuffer,
 * else /dev/shm/shmkit-ipcbuffer-<uid>.
 *
 * Best effort: failing to record never fails the buffer itself (it is logged
 * under NODE_DEBUG=ipcbuffer). The objects are the truth; `ls` drops records
 * whose object is gone.
 */
export type RegisteredKind = 'posix' | 'sysv' | 'file';

export interface Entry {
  kind: RegisteredKind;
  /** "/name", the decimal key, or the absolute path. */
  id: string;
  size: number;
  pid: number;
  /** The creator's start time in clock ticks since boot (/proc/PID/stat field 22), so a reused pid is not mistaken for it. */
  start: number;
  created: number;
}

export function registryDir(): string {
  const env = process.env['SHMKIT_IPCBUFFER_REGISTRY'];
  if (env !== undefined && env !== '') return env;
  const xdg = process.env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, 'shmkit-ipcbuffer');
  return path.join('/dev/shm', `shmkit-ipcbuffer-${os.userInfo().uid}`);
}

/**
 * The registry must be ours alone: records name files and objects that
 * `ipcbuffer rm` deletes, so a directory someone else could write (a
 * symlink planted in /dev/shm, another user's or a group-accessible
 * directory) is refused. `create` makes it 0700 when missing.
 */
function checkDir(dir: string, create: boolean): void {
  try {
    sys.ensurePrivateDir(dir, { create });
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_SHM_UNSAFE_PATH') throw err;
    const uid = process.geteuid?.() ?? 0;
    throw new IPCBufferError(
      'ERR_IPCBUFFER_UNSAFE_REGISTRY',
      `registry ${dir} is not a directory that only uid ${uid} can write (symlink, other owner, or group/world-accessible: ${(err as Error).message}); remove it or set SHMKIT_IPCBUFFER_REGISTRY`,
      { cause: err },
    );
  }
}

/** Creates the directory 0700 if needed and checks it. */
function ensureDir(): string {
  const dir = registryDir();
  checkDir(dir, true);
  return dir;
}

/** Records are small; anything longer was not written by record(). */
const MAX_RECORD_BYTES = 4096;

/** Reads one record file through an fd that is ours (no symlink, our uid, not writable by others). */
function readRecord(file: string): string {
  const fd = sys.openOwnedFile(file);
  try {
    const buf = Buffer.alloc(MAX_RECORD_BYTES + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_RECORD_BYTES) throw new Error(`longer than ${MAX_RECORD_BYTES} bytes`);
    return buf.toString('utf8', 0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function fileName(kind: RegisteredKind, id: string): string {
  // Names may hold any byte but "/", paths any; hash them to a fixed, safe file name.
  return `${kind}-${crypto.createHash('sha256').update(id).digest('hex').slice(0, 32)}.json`;
}

export function record(kind: RegisteredKind, id: string, size: number): void {
  try {
    const dir = ensureDir();
    const entry: Entry = { kind, id, size, pid: process.pid, start: processStart(process.pid), created: Date.now() };
    const file = path.join(dir, fileName(kind, id));
    sys.writeFileAtomic(file, JSON.stringify(entry), { mode: 0o600 });
  } catch (err) {
    debug('could not record %s %s: %s', kind, id, (err as Error).message);
  }
}

export function forget(kind: RegisteredKind, id: string): void {
  try {
    fs.unlinkSync(path.join(registryDir(), fileName(kind, id)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') debug('could not forget %s %s: %s', kind, id, (err as Error).message);
  }
}

/** Every record, skipping files that are not well-formed records. */
export function entries(): Entry[] {
  const dir = registryDir();
  try {
    checkDir(dir, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Entry[] = [];
  for (const n of fs.readdirSync(dir)) {
    if (!n.endsWith('.json')) continue;
    try {
      // A file that is a symlink, not ours, or writable by others is not a record we wrote.
      const e = JSON.parse(readRecord(path.join(dir, n))) as Partial<Entry>;
      if ((e.kind === 'posix' || e.kind === 'sysv' || e.kind === 'file') && typeof e.id === 'string' && typeof e.size === 'number' && typeof e.pid === 'number') {
        out.push({ kind: e.kind, id: e.id, size: e.size, pid: e.pid, start: typeof e.start === 'number' ? e.start : -1, created: typeof e.created === 'number' ? e.created : 0 });
      }
    } catch (err) {
      debug('skipping registry file %s: %s', n, (err as Error).message);
    }
  }
  return out.sort((a, b) => a.created - b.created);
}

/** Start time of `pid` in clock ticks since boot, or -1 when it is not running. */
export function processStart(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // comm (field 2) may contain spaces and parentheses; fields after the last ")" are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[19]);
  } catch {
    return -1;
  }
}

/** True while the process that wrote `e` is still running (and is not a newer process with a reused pid). */
export function creatorAlive(e: Entry): boolean {
  const start = processStart(e.pid);
  return start >= 0 && (e.start < 0 || start === e.start);
}
