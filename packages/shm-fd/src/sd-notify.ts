import { ShmArgumentError } from './errors';
import { isValidFdName } from './listen-fds';
import { close, unixSocket, sendWithFds } from './sys';

/**
 * The sd_notify protocol (systemd sd_notify(3)): one datagram of
 * newline-separated assignments to $NOTIFY_SOCKET, a path or `@abstract`.
 * Returns false when NOTIFY_SOCKET is unset (not under a service manager).
 * `nonblocking`: fail with EAGAIN instead of waiting when the manager's
 * queue is full (a manager that stopped reading must not stall the caller).
 */
export function sdNotify(state: string, fds: readonly number[] = [], socketPath = process.env['NOTIFY_SOCKET'], options: { nonblocking?: boolean } = {}): boolean {
  if (socketPath === undefined || socketPath === '') return false;
  if (!socketPath.startsWith('/') && !socketPath.startsWith('@')) {
    throw new ShmArgumentError('ERR_SHM_NOTIFY_SOCKET', `NOTIFY_SOCKET=${JSON.stringify(socketPath)} must be an absolute path or @abstract name`);
  }
  const sock = unixSocket('dgram');
  try {
    sendWithFds(sock, Buffer.from(state), fds, { to: socketPath, nonblocking: options.nonblocking === true });
  } finally {
    close(sock);
  }
  return true;
}

/** Hands `fd` to the service manager's fd store under `name` (FDSTORE=1). */
export function notifyFdStore(fd: number, name: string, socketPath?: string): boolean {
  if (!isValidFdName(name)) {
    throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `invalid fd store name ${JSON.stringify(name)}`);
  }
  return sdNotify(`FDSTORE=1\nFDNAME=${name}`, [fd], socketPath);
}

/** Tells the service manager that start-up is finished (READY=1). */
export function notifyReady(status?: string, socketPath?: string): boolean {
  return sdNotify(status === undefined ? 'READY=1' : `READY=1\nSTATUS=${status}`, [], socketPath);
}
