import fs from 'node:fs';
import path from 'node:path';

import { IPCBufferError } from './errors';
import { unlinkPosix } from './posix';
import { creatorAlive, entries, forget, type Entry } from './registry';
import { hexKey, removeSysv } from './sysv';

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

/** Removes one object; files only when shmkit created them (they may be someone's data otherwise). */
export function removeObject(t: Target, registered: readonly Entry[] = entries()): string {
  switch (t.kind) {
    case 'posix':
      unlinkPosix(t.name);
      return `posix ${t.name.startsWith('/') ? t.name : `/${t.name}`}`;
    case 'sysv':
      removeSysv(t.key);
      return `sysv ${t.key} (${hexKey(t.key)})`;
    case 'file': {
      if (!registered.some((e) => e.kind === 'file' && e.id === t.path)) {
        throw new IPCBufferError('ERR_IPCBUFFER_NOT_REGISTERED', `${t.path} was not created by ipcbuffer (not in its registry); remove it with rm(1) if you mean to`);
      }
      fs.rmSync(t.path);
      forget('file', t.path);
      return `file ${t.path}`;
    }
  }
}
