import type net from 'node:net';

import { ShmArgumentError } from '../errors';

/**
 * The OS file descriptor under a connected Node socket or a listening
 * server. Node does not expose it publicly; its libuv handle does. The fd
 * stays owned by Node: never close it, and do not keep it past the socket.
 */
export function socketFd(socket: net.Socket | net.Server): number {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new ShmArgumentError('ERR_SHM_NO_FD', 'the socket has no file descriptor (it is not connected or listening yet, or it is already closed)');
  }
  return fd;
}
