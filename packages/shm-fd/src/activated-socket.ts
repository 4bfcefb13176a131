// Socket activation: a service manager (systemd, systemd-socket-activate)
// binds the listening socket and passes it as fd 3 onwards (LISTEN_FDS).
import net from 'node:net';

import { ListenFdsError } from './errors';
import { listenFds, type ListenFd } from './listen-fds';
import { constants as C, getSockOpt, setCloexec, SO_ACCEPTCONN, SO_DOMAIN, SO_TYPE, SOL_SOCKET, unixSocketName } from './sys';

export type SocketFamily = 'unix' | 'inet' | 'inet6';

const FAMILY_OF: Record<number, SocketFamily> = { [C.AF_UNIX]: 'unix', [C.AF_INET]: 'inet', [C.AF_INET6]: 'inet6' };

export interface ActivatedSocketOptions {
  /** The LISTEN_FDNAMES name to take (`FileDescriptorName=` of the socket unit); without a match, the first fd. */
  name: string;
  /** Families the daemon serves; another is refused. */
  families: readonly SocketFamily[];
  env?: Record<string, string | undefined>;
  pid?: number;
}

export interface ActivatedSocket {
  fd: number;
  name: string;
  family: SocketFamily;
  /** A Unix socket's path (`@name` if abstract); null for an unnamed one and for TCP. */
  path: string | null;
}

/**
 * The listening stream socket passed to this process, checked, or null when
 * none was passed (LISTEN_FDS absent, zero, or for another pid). The LISTEN_*
 * variables are removed either way, so children do not take them for theirs.
 * Throws ListenFdsError `ERR_SHM_LISTEN_SOCKET` when the chosen fd is not a
 * listening stream socket of one of `families`: serving on it would fail
 * later and less clearly (or serve the wrong network).
 */
export function activatedSocket(options: ActivatedSocketOptions): ActivatedSocket | null {
  const fds = listenFds({ ...(options.env !== undefined ? { env: options.env } : {}), ...(options.pid !== undefined ? { pid: options.pid } : {}), unsetEnv: true });
  if (fds === null || fds.length === 0) return null;
  const chosen: ListenFd = fds.find((f) => f.name === options.name) ?? (fds[0] as ListenFd);
  const family = checkListening(chosen, options.families);
  // sd_listen_fds does the same: what we serve on is not for our children.
  setCloexec(chosen.fd, true);
  return { fd: chosen.fd, name: chosen.name, family, path: family === 'unix' ? unixSocketName(chosen.fd) : null };
}

function checkListening(f: ListenFd, families: readonly SocketFamily[]): SocketFamily {
  const what = `LISTEN_FDS fd ${f.fd} (name ${JSON.stringify(f.name)})`;
  const want = `a listening ${families.join(' or ')} stream socket`;
  const refuse = (why: string, cause?: unknown): never => {
    throw new ListenFdsError('ERR_SHM_LISTEN_SOCKET', `${what} ${why}; expected ${want} (check the socket unit's ListenStream=)`, cause === undefined ? undefined : { cause });
  };
  let domain: number;
  let type: number;
  let accepting: number;
  try {
    domain = getSockOpt(f.fd, SOL_SOCKET, SO_DOMAIN);
    type = getSockOpt(f.fd, SOL_SOCKET, SO_TYPE);
    accepting = getSockOpt(f.fd, SOL_SOCKET, SO_ACCEPTCONN);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTSOCK') return refuse('is not a socket', err);
    if (code === 'EBADF') return refuse('is not open', err);
    throw err;
  }
  const family = FAMILY_OF[domain];
  if (family === undefined || !families.includes(family)) return refuse(`is a socket of address family ${family ?? domain}`);
  if (type !== C.SOCK_STREAM) return refuse(`is a ${type === C.SOCK_DGRAM ? 'datagram' : `type ${type}`} socket`);
  if (accepting !== 1) return refuse('is a stream socket that is not listening (a connection, or never listen()ed)');
  return family;
}

/**
 * A net.Server serving the activated socket (see activatedSocket), or null
 * when none was passed. The socket belongs to the service manager: closing
 * the server closes our fd, never the manager's socket file.
 */
export async function listenActivated(options: ActivatedSocketOptions): Promise<{ server: net.Server; socket: ActivatedSocket } | null> {
  const socket = activatedSocket(options);
  if (socket === null) return null;
  const server = net.createServer({ allowHalfOpen: false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd: socket.fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, socket };
}
