// rmmapd's local control socket: answers `rmmapd status` with a JSON
// snapshot. It is a Unix socket, never the TCP port, so remote peers (who
// may hold the token) see nothing of the server's load or paths; and the
// kernel's SO_PEERCRED tells us who connects, so only our uid and root are
// answered.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';
import type { RmmapdStatus } from './status';

/** Connections answered at once; a local flood gets the rest closed at accept. */
const MAX_CONTROL_CONNECTIONS = 8;
/** A peer that does not take its answer within this is closed. */
const ANSWER_TIMEOUT_MS = 5000;

/**
 * The default control socket of the rmmapd on `port`: in systemd's
 * RuntimeDirectory= ($RUNTIME_DIRECTORY) when set, else in the per-user
 * runtime directory `$XDG_RUNTIME_DIR/rmmapd` or `/tmp/rmmapd-$UID`.
 */
export function defaultControlPath(port: number, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(controlDir(env).dir, `control-${port}.sock`);
}

function controlDir(env: NodeJS.ProcessEnv): { dir: string; managed: boolean } {
  const managed = env['RUNTIME_DIRECTORY']?.split(':')[0];
  if (managed !== undefined && path.isAbsolute(managed)) return { dir: managed, managed: true };
  return { dir: sys.runtimeDir('rmmapd', env), managed: false };
}

export interface ControlSocketOptions {
  /** The socket's path; default defaultControlPath(port). */
  path?: string;
  port: number;
  status: () => RmmapdStatus;
  log: (line: string, level: 'info' | 'warn') => void;
  env?: NodeJS.ProcessEnv;
}

export class ControlSocket {
  readonly path: string;
  readonly #server: net.Server;
  #closed = false;

  private constructor(file: string, server: net.Server) {
    this.path = file;
    this.#server = server;
  }

  /**
   * Checks the directory (a default one is created 0700 and must be private;
   * a given one or systemd's RuntimeDirectory= must be ours or root's, not
   * writable by others unless sticky), removes a stale socket a dead rmmapd
   * left, and binds the socket 0600.
   */
  static async listen(options: ControlSocketOptions): Promise<ControlSocket> {
    const env = options.env ?? process.env;
    let file: string;
    try {
      if (options.path !== undefined) {
        file = path.resolve(options.path);
        sys.checkSharedDir(path.dirname(file));
      } else {
        const { dir, managed } = controlDir(env);
        if (managed) sys.checkSharedDir(dir);
        else sys.ensurePrivateDir(dir);
        file = defaultControlPath(options.port, env);
      }
    } catch (e) {
      throw controlError(`cannot use the control socket's directory: ${(e as Error).message}`, e);
    }
    await removeStale(file);
    const server = net.createServer({ allowHalfOpen: false });
    server.maxConnections = MAX_CONTROL_CONNECTIONS;
    const c = new ControlSocket(file, server);
    server.on('connection', (s) => c.#answer(s, options));
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(file, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw controlError(`cannot bind the control socket ${file}: ${(e as Error).message}`, e);
    } finally {
      process.umask(old);
    }
    server.on('error', (e) => options.log(`control socket: ${e.message}`, 'warn'));
    return c;
  }

  #answer(s: net.Socket, options: ControlSocketOptions): void {
    s.on('error', () => undefined);
    const timer = setTimeout(() => s.destroy(), ANSWER_TIMEOUT_MS).unref();
    s.once('close', () => clearTimeout(timer));
    let peer: sys.PeerCredentials;
    try {
      peer = sys.peerCredentials(sys.socketFd(s));
    } catch {
      s.destroy();
      return;
    }
    const ours = process.geteuid?.() ?? 0;
    if (peer.uid !== ours && peer.uid !== 0) {
      options.log(`control socket: refused pid ${peer.pid} of uid ${peer.uid} (only ${ours === 0 ? 'root' : `uid ${ours} and root`} may ask)`, 'warn');
      s.destroy();
      return;
    }
    s.resume();
    s.end(`${JSON.stringify(options.status())}\n`);
  }

  /** Stops answering and removes the socket file. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.removeFile();
    });
  }

  /** Removes the socket file (synchronous: also for process.on('exit')). */
  removeFile(): void {
    fs.rmSync(this.path, { force: true });
  }
}

function controlError(message: string, cause: unknown): RmmapError {
  return new RmmapError('ERR_RMMAP_CONTROL', `${message}; pass --control PATH in a directory of your own, or --no-control`, { cause });
}

/** Removes a socket file a dead rmmapd left; refuses a non-socket and a socket someone answers on. */
async function removeStale(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw controlError(`${file} exists and is not a socket`, undefined);
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(file);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw controlError(`another rmmapd answers on the control socket ${file}`, undefined);
  fs.rmSync(file, { force: true });
}
