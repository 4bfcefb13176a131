import path from 'node:path';

import { checkSharedDir, ensurePrivateDir, runtimeDir } from '@shmkit/shm-fd/sys';

import { TinyFileError } from '../errors';

/** The per-user directory of the default socket: `$XDG_RUNTIME_DIR/tinyfile`, else `/tmp/tinyfile-$UID`. */
export function defaultSocketDir(env: NodeJS.ProcessEnv = process.env): string {
  return runtimeDir('tinyfile', env);
}

/** Where tinyd listens unless told otherwise: `tinyd.sock` in defaultSocketDir(). */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(defaultSocketDir(env), 'tinyd.sock');
}

/**
 * Checks the socket's directory before tinyd binds there. Whoever can write
 * it can replace the socket and serve our clients. The default directory is
 * created 0700 and must be ours with no group or other access; the directory
 * of a path the user named must be ours or root's, and sticky if others can
 * write it. Refusals are ERR_SHM_UNSAFE_PATH naming the directory and the fix.
 */
export function prepareSocketDir(socketPath: string, isDefault: boolean): void {
  const dir = path.dirname(socketPath);
  if (isDefault) ensurePrivateDir(dir);
  else checkSharedDir(dir);
  if (Buffer.byteLength(socketPath) > 107) {
    throw new TinyFileError('ERR_INVALID_ARG_VALUE', `socket path ${socketPath} is longer than the 107 bytes a Unix socket address holds`);
  }
}
