import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { UnsafePathError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';

/*
 * Where the write journal lives and how its files are opened. The journal
 * holds other clients' write payloads and decides what rmmapd re-applies at
 * start, so it must be ours alone: a private directory outside the served
 * root, files we own that nobody else can write, and no symlinks followed.
 */

/** `$XDG_RUNTIME_DIR/rmmapd`, else `/tmp/rmmapd-$UID` (both survive a process restart, not a reboot). */
export function defaultJournalDir(env: NodeJS.ProcessEnv = process.env): string {
  return sys.runtimeDir('rmmapd', env);
}

/** The default journal of a root: named from a hash of its real path, so two roots never share one. */
export function defaultJournalPath(rootReal: string, env: NodeJS.ProcessEnv = process.env): string {
  const name = createHash('sha256').update(rootReal).digest('hex').slice(0, 32);
  return path.join(defaultJournalDir(env), `${name}.journal`);
}

function unsafe(what: string, problem: string, fix: string): RmmapError {
  return new RmmapError('ERR_RMMAP_JOURNAL_UNSAFE', `journal ${what} ${problem}; ${fix}`);
}

/** shm-fd's verdict on a shared path, as the journal's own error. */
function asJournalError(err: unknown): unknown {
  if (!(err instanceof UnsafePathError)) return err;
  return new RmmapError('ERR_RMMAP_JOURNAL_UNSAFE', `journal ${err.message}; or pass another --journal`, { cause: err });
}

/** Creates the private directory (0700) if needed and checks it (a symlink, another owner or any group/other access is refused). */
export function ensurePrivateDir(dir: string): void {
  try {
    sys.ensurePrivateDir(dir);
  } catch (err) {
    throw asJournalError(err);
  }
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
 * With `exclusive`, the file must not exist yet. The caller owns the
 * returned fd (close-on-exec).
 */
export function openPrivateFile(file: string, options: { exclusive?: boolean } = {}): number {
  try {
    return options.exclusive === true ? sys.createOwnedFile(file) : sys.openOwnedFile(file, { write: true, create: true });
  } catch (err) {
    throw asJournalError(err);
  }
}
