import net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import type { DaemonStatus } from '../daemon/tinyd';
import { DaemonError, TinyFileError } from '../errors';
import { encodeHello, KIND_STATUS } from '../protocol/handshake';
import { defaultSocketPath } from '../protocol/socket-path';
import { checkDaemonCredentials } from './trusted-daemon';

/**
 * Asks tinyd for its status (clients, queue depths, bytes in / out,
 * throughput). A daemon of another uid than ours or `daemonUid` is refused
 * before anything is sent (ERR_TINYFILE_UNTRUSTED_DAEMON).
 */
export function queryStatus(socketPath = defaultSocketPath(), timeoutMs = 5000, daemonUid?: number): Promise<DaemonStatus> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new DaemonError('ERR_TINYFILE_TIMEOUT', `tinyd at ${socketPath} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => {
      try {
        checkDaemonCredentials(sys.socketFd(s), socketPath, daemonUid);
      } catch (err) {
        clearTimeout(timer);
        s.destroy();
        reject(err as Error);
        return;
      }
      s.write(encodeHello({ kind: KIND_STATUS, priority: 0, slots: 0, pid: process.pid }));
    });
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new DaemonError('ERR_TINYFILE_NOT_RUNNING', `no tinyd is listening at ${socketPath} (${err.code ?? err.message}); start it with \`tinyd --socket ${socketPath}\``, {
          cause: err,
        }),
      );
    });
    s.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString()) as DaemonStatus);
      } catch (err) {
        reject(new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd at ${socketPath} sent a malformed status`, { cause: err }));
      }
    });
  });
}
