import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { TinyFileError } from '../errors';

/**
 * Where tinyd listens unless told otherwise: `$XDG_RUNTIME_DIR/tinyfile.sock`
 * (a per-user 0700 directory), else `/tmp/tinyfile-$UID/tinyd.sock`.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg !== undefined && xdg !== '' && path.isAbsolute(xdg)) return path.join(xdg, 'tinyfile.sock');
  return path.join(os.tmpdir(), `tinyfile-${process.getuid?.() ?? 0}`, 'tinyd.sock');
}

/**
 * Creates the socket's directory (0700) when it is our default one, and
 * refuses a directory that other users can write: they could swap the socket.
 */
export function prepareSocketDir(socketPath: string): void {
  const dir = path.dirname(socketPath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.statSync(dir);
  if (!st.isDirectory()) throw new TinyFileError('ENOTDIR', `${dir} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new TinyFileError('ERR_TINYFILE_UNSAFE_DIR', `${dir} is writable by other users and not sticky; choose a private directory with --socket`);
  }
  if (Buffer.byteLength(socketPath) > 107) {
    throw new TinyFileError('ERR_INVALID_ARG_VALUE', `socket path ${socketPath} is longer than the 107 bytes a Unix socket address holds`);
  }
}
