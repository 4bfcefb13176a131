import fs from 'node:fs';
import net from 'node:net';

import { TinyFileError } from '../errors';
import { prepareSocketDir } from '../protocol/socket-path';

/**
 * Binds tinyd's socket (0600 from the start) after checking its directory
 * and removing a socket file a dead daemon left. `defaultPath`: the path is
 * defaultSocketPath(), whose directory is created if missing.
 */
export async function listenOnSocket(socketPath: string, defaultPath: boolean): Promise<net.Server> {
  prepareSocketDir(socketPath, defaultPath);
  await removeStaleSocket(socketPath);
  const server = net.createServer({ allowHalfOpen: false });
  // The socket file is created by bind(2) with the umask applied: make it 0600 from the start.
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  return server;
}

/** Removes a socket file left by a dead daemon; refuses if a live one answers. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new TinyFileError('EEXIST', `${socketPath} exists and is not a socket; remove it or choose another --socket`);
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new TinyFileError('ERR_TINYFILE_RUNNING', `another tinyd is already listening on ${socketPath}`);
  fs.rmSync(socketPath, { force: true });
}
