import net from 'node:net';

import * as sys from '@shmkit/shm-fd/sys';

import { RmmapError } from '../errors';
import { defaultControlPath } from '../server/control-socket';
import type { RmmapdStatus } from '../server/status';

/** Largest status answer read: it is a few hundred bytes; more is not an rmmapd. */
const MAX_ANSWER = 64 * 1024;

export interface StatusQueryOptions {
  /** The control socket; default defaultControlPath(port). */
  control?: string;
  /** The rmmapd's TCP port, naming the default control socket; default 7878. */
  port?: number;
  timeoutMs?: number;
  /** Also trust an rmmapd running as this uid (a service's dedicated or DynamicUser= uid). */
  daemonUid?: number;
}

/**
 * Asks a local rmmapd for its status over its control socket. The process
 * listening there must run as our uid, root or `daemonUid` (SO_PEERCRED),
 * else ERR_RMMAP_UNTRUSTED_DAEMON before anything is read: another user
 * must not pass a made-up status off as rmmapd's. Root trusts any uid: it
 * can inspect every process anyway, and asking sends nothing.
 */
export function queryRmmapdStatus(options: StatusQueryOptions = {}): Promise<RmmapdStatus> {
  const file = options.control ?? defaultControlPath(options.port ?? 7878);
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const s = net.connect(file);
    const parts: Buffer[] = [];
    let size = 0;
    const fail = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new RmmapError('ERR_RMMAP_TIMEOUT', `rmmapd at ${file} did not answer within ${timeoutMs} ms`)), timeoutMs);
    s.on('connect', () => {
      const peer = sys.peerCredentials(sys.socketFd(s));
      const ours = process.geteuid?.() ?? 0;
      if (ours !== 0 && peer.uid !== ours && peer.uid !== 0 && peer.uid !== options.daemonUid) {
        fail(
          new RmmapError(
            'ERR_RMMAP_UNTRUSTED_DAEMON',
            `the process at ${file} (pid ${peer.pid}) runs as uid ${peer.uid}, neither this user (uid ${ours}) nor root; not reading it. ` +
              `If uid ${peer.uid} runs the rmmapd you mean, allow it with --daemon-uid ${peer.uid}`,
          ),
        );
      }
    });
    s.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_ANSWER) fail(new RmmapError('ERR_RMMAP_PROTOCOL', `the answer at ${file} is larger than ${MAX_ANSWER} bytes; not an rmmapd status`));
      else parts.push(d);
    });
    s.on('error', (e: NodeJS.ErrnoException) =>
      fail(
        new RmmapError(
          'ERR_RMMAP_NOT_RUNNING',
          `no rmmapd answers at ${file} (${e.code ?? e.message}); is rmmapd running on port ${options.port ?? 7878}? Name its socket with --control PATH`,
          { cause: e },
        ),
      ),
    );
    s.on('end', () => {
      clearTimeout(timer);
      if (size === 0) {
        reject(new RmmapError('ERR_RMMAP_STATUS_REFUSED', `rmmapd at ${file} closed without an answer: it answers only its own uid and root; ask as one of them`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString()) as RmmapdStatus);
      } catch (e) {
        reject(new RmmapError('ERR_RMMAP_PROTOCOL', `rmmapd at ${file} sent a malformed status`, { cause: e }));
      }
    });
  });
}
