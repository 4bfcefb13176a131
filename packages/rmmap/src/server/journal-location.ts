import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { RmmapError } from '../errors';

/*
 * Where the write journal lives and how its files are opened. The journal
 * holds other clients' write payloads and decides what rmmapd re-applies at
 * start, so it must be ours alone: a private directory outside the served
 * root, files we own that nobody else can write, and no symlinks followed.
 */

function uid(): number {
  return process.getuid?.() ?? 0;
}

/** `$XDG_RUNTIME_DIR/rmmapd`, else `/tmp/rmmapd-$UID` (both survive a process restart, not a reboot). */
export function defaultJournalDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'rmmapd');
  return path.join('/tmp', `rmmapd-${uid()}`);
}

/** The default journal of a root: named from a hash of its real path, so two roots never share one. */
export function defaultJournalPath(rootReal: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = createHash('sha256').update(rootReal).digest('hex').slice(0, 32);
  return path.join(defaultJournalDir(env), `${name}.journal`);
}

function unsafe(what: string, problem: string, fix: string): RmmapError {
  return new RmmapError('ERR_RMMAP_JOURNAL_UNSAFE', `journal ${what} ${problem}; ${fix}`);
}

/** Refuses what another user could have planted or could change under us. */
function checkOwned(st: fs.Stats, what: string, kind: 'directory' | 'file'): void {
  const ok = kind === 'directory' ? st.isDirectory() : st.isFile();
  if (!ok) throw unsafe(what, `is not a ${kind} (a symlink or something else)`, 'remove it or pass another --journal');
  if (st.uid !== uid()) throw unsafe(what, `is owned by uid ${st.uid}, not by this process (uid ${uid()})`, 'remove it or pass another --journal');
  if ((st.mode & 0o022) !== 0) throw unsafe(what, `is group- or world-writable (mode ${(st.mode & 0o777).toString(8)})`, `chmod go-w it (0${kind === 'directory' ? 700 : 600} is expected)`);
}

/** Creates the private directory (0700) if needed and checks it (lstat: a symlink is refused). */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  checkOwned(fs.lstatSync(dir), `directory ${dir}`, 'directory');
}

/** A journal inside the served root could be mapped and rewritten by clients. */
export function checkOutsideRoot(file: string, rootReal: string): void {
  const dirReal = fs.realpathSync(path.dirname(path.resolve(file)));
  const full = path.join(dirReal, path.basename(file));
  if (full === rootReal || full.startsWith(rootReal.endsWith('/') ? rootReal : `${rootReal}/`)) {
    throw unsafe(file, `is inside the served root ${rootReal}, where clients could map and rewrite it`, 'put it outside the root');
  }
}

/**
 * Opens (creating with mode 0600) a file of the journal, never through a
 * symlink, and checks it is a regular file we own that others cannot write.
 * The caller owns the returned fd (close-on-exec: libuv opens with O_CLOEXEC).
 */
export function openPrivateFile(file: string, extraFlags = 0): number {
  const c = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, c.O_RDWR | c.O_CREAT | c.O_NOFOLLOW | extraFlags, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw unsafe(file, 'is a symlink', 'remove it or pass another --journal');
    throw e;
  }
  try {
    checkOwned(fs.fstatSync(fd), file, 'file');
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
