import fs from 'node:fs';
import path from 'node:path';

import { SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { IPCBufferError } from './errors';
import { unlinkPosix } from './posix';
import { creatorAlive, entries, forget, registryDir, type Entry } from './registry';
import { hexKey, segmentId } from './sysv';
import { segmentOwners } from './sysv-creator';
import { posixName } from './validate';

/** One object shmkit created, as `ipcbuffer ls` shows it. */
export interface ObjectInfo extends Entry {
  /** Current size of the object (the registered size when it cannot be read). */
  currentSize: number;
  /** Whether the creator process is still running. */
  alive: boolean;
  /** System V only: processes attached right now. */
  attached?: number;
}

interface SysvRow {
  key: number;
  size: number;
  attached: number;
}

/** /proc/sysvipc/shm: "key shmid perms size cpid lpid nattch …", keys in signed decimal. */
function sysvSegments(): Map<number, SysvRow> {
  const out = new Map<number, SysvRow>();
  let text = '';
  try {
    text = fs.readFileSync('/proc/sysvipc/shm', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const key = Number(f[0]);
    out.set(key, { key, size: Number(f[3]), attached: Number(f[6]) });
  }
  return out;
}

function statSize(p: string): number | undefined {
  try {
    return fs.statSync(p).size;
  } catch {
    return undefined;
  }
}

/**
 * Every registered object that still exists. Records of objects that are
 * gone (removed by other tools, or a reboot) are dropped from the registry.
 */
export function listObjects(): ObjectInfo[] {
  const segs = sysvSegments();
  const out: ObjectInfo[] = [];
  for (const e of entries()) {
    let size: number | undefined;
    let attached: number | undefined;
    if (e.kind === 'posix') size = statSize(path.join('/dev/shm', e.id));
    else if (e.kind === 'file') size = statSize(e.id);
    else {
      const seg = segs.get(Number(e.id) | 0);
      size = seg?.size;
      attached = seg?.attached;
    }
    if (size === undefined) {
      forget(e.kind, e.id);
      continue;
    }
    out.push({ ...e, currentSize: size, alive: creatorAlive(e), ...(attached === undefined ? {} : { attached }) });
  }
  return out;
}

export type Target = { kind: 'posix'; name: string } | { kind: 'sysv'; key: number } | { kind: 'file'; path: string };

/**
 * How `ipcbuffer rm` reads its arguments: a number (decimal, 0x hex,
 * negative) is a System V key; "*name" or a single-component "/name" is
 * POSIX shm; anything else is the path of a file-backed buffer shmkit created.
 */
export function parseTarget(arg: string, registered: readonly Entry[] = entries()): Target {
  if (/^-?(0x[0-9a-f]+|[0-9]+)$/i.test(arg)) {
    const neg = arg.startsWith('-');
    const n = Number(neg ? arg.slice(1) : arg);
    return { kind: 'sysv', key: neg ? -n : n };
  }
  if (arg.startsWith('*')) return { kind: 'posix', name: arg.slice(1) };
  const abs = path.resolve(arg);
  if (registered.some((e) => e.kind === 'file' && e.id === abs)) return { kind: 'file', path: abs };
  if (/^\/[^/]+$/.test(arg)) return { kind: 'posix', name: arg };
  return { kind: 'file', path: abs };
}

export interface RemoveOptions {
  /**
   * Remove POSIX and System V objects that have no record in the registry
   * (ipcbuffer did not create them as this user). Objects of another user
   * stay refused unless running as root. Files are never removed without a
   * record.
   */
  force?: boolean;
}

const euid = (): number => process.geteuid?.() ?? 0;

function recordOf(registered: readonly Entry[], kind: Entry['kind'], same: (id: string) => boolean): Entry | undefined {
  return registered.find((e) => e.kind === kind && same(e.id));
}

function notRegistered(what: string, force: string): IPCBufferError {
  return new IPCBufferError(
    'ERR_IPCBUFFER_NOT_REGISTERED',
    `${what} was not created through ipcbuffer by uid ${euid()} (no record in ${registryDir()}); ${force}`,
  );
}

function notOwner(what: string, owner: string, force: boolean): IPCBufferError {
  const root = euid() === 0;
  const fix = root ? (force ? '' : '; as root, pass --force to remove it anyway') : '; only its owner can remove it';
  return new IPCBufferError('ERR_IPCBUFFER_NOT_OWNER', `${what} belongs to ${owner}, not to uid ${euid()}${fix}`);
}

function removePosix(nameIn: string, registered: readonly Entry[], force: boolean): string {
  const name = posixName(nameIn);
  const what = `POSIX shared memory ${name}`;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path.join('/dev/shm', name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new SystemError(2, 'shm_unlink', `${what} does not exist, so there is nothing to remove; list objects with \`ipcbuffer ls\``, name);
  }
  const record = recordOf(registered, 'posix', (id) => id === name);
  if (record === undefined && !force) throw notRegistered(what, `pass --force to remove it anyway (ipcbuffer rm --force ${name})`);
  // A record says we made the name once; whoever holds it now may be someone else.
  if (st.uid !== euid() && !(force && euid() === 0)) throw notOwner(what, `uid ${st.uid}`, force);
  unlinkPosix(name);
  return `posix ${name}`;
}

function removeSegment(key: number, registered: readonly Entry[], force: boolean): string {
  const what = `System V segment ${key} (${hexKey(key)})`;
  const id = segmentId(key);
  const record = recordOf(registered, 'sysv', (k) => (Number(k) | 0) === (key | 0));
  if (record === undefined && !force) throw notRegistered(what, `pass --force to remove it anyway (ipcbuffer rm --force ${key})`);
  // Keys are shared by all users: check who owns and who created the segment under it now.
  const { uid, cuid } = segmentOwners(id) ?? { uid: sys.sysvStat(id).uid, cuid: undefined };
  const ours = uid === euid() && (cuid === undefined || cuid === euid());
  if (!ours && !(force && euid() === 0)) throw notOwner(what, `uid ${uid}${cuid === undefined || cuid === uid ? '' : ` (created by uid ${cuid})`}`, force);
  sys.sysvRemove(id);
  forget('sysv', record?.id ?? String(key));
  return `sysv ${key} (${hexKey(key)})`;
}

function removeFile(file: string, registered: readonly Entry[]): string {
  if (recordOf(registered, 'file', (id) => id === file) === undefined) {
    throw new IPCBufferError('ERR_IPCBUFFER_NOT_REGISTERED', `${file} was not created by ipcbuffer (not in its registry); remove it with rm(1) if you mean to`);
  }
  // The record names a path; what is there now must still be our regular file, not a symlink or another user's.
  sys.checkOwnedStat(fs.lstatSync(file), file, 'file');
  fs.rmSync(file);
  forget('file', file);
  return `file ${file}`;
}

/**
 * Removes one object. Only what the registry says this user created, unless
 * `force` (POSIX and System V only); never another user's object, except as
 * root with `force`; files only with a record, whatever `force` says.
 */
export function removeObject(t: Target, registered: readonly Entry[] = entries(), options: RemoveOptions = {}): string {
  const force = options.force === true;
  switch (t.kind) {
    case 'posix':
      return removePosix(t.name, registered, force);
    case 'sysv':
      return removeSegment(t.key, registered, force);
    case 'file':
      return removeFile(t.path, registered);
  }
}
