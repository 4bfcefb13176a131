import * as sys from '@shmkit/shm-fd/sys';

import { DaemonError } from '../errors';

/**
 * Refuses a daemon that runs as another user before a byte is sent to it.
 * Whoever listens at the socket path reads everything the client hands over;
 * on a path another user could claim (a shared directory, or a default
 * directory they made first) that could be them. SO_PEERCRED is what the
 * kernel recorded when the daemon called listen(): the peer cannot forge it.
 * Trusted: our own effective uid, root, or `daemonUid` when the user names one.
 */
export function checkDaemonCredentials(fd: number, socketPath: string, daemonUid: number | undefined): void {
  const peer = sys.peerCredentials(fd);
  const ours = process.geteuid?.() ?? 0;
  // Root is trusted too: it can read and write this process's memory anyway,
  // and under socket activation the kernel names the service manager (root),
  // whoever called listen() last, as the listener until tinyd has run once.
  if (peer.uid === ours || peer.uid === 0 || peer.uid === daemonUid) return;
  throw new DaemonError(
    'ERR_TINYFILE_UNTRUSTED_DAEMON',
    `the process listening at ${socketPath} (pid ${peer.pid}) runs as uid ${peer.uid}, not as this user (uid ${ours}) or root${daemonUid !== undefined ? ` nor as the allowed uid ${daemonUid}` : ''}; ` +
      `nothing was sent. If uid ${peer.uid} runs the tinyd you mean to use, allow it with { daemonUid: ${peer.uid} } (tinyfile --daemon-uid ${peer.uid}, or TINYFILE_DAEMON_UID=${peer.uid})`,
  );
}

/** Parses a uid given on the command line or in TINYFILE_DAEMON_UID. */
export function parseDaemonUid(value: string | undefined, from: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 0xfffffffe) {
    throw new DaemonError('ERR_INVALID_ARG_VALUE', `${from} must be a numeric uid, got "${value}"`);
  }
  return Number(value);
}
