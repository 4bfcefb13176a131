// `rmmapd status`: what a running rmmapd serves and holds, asked over its
// local control socket (never its TCP port).
import { ShmkitError } from '@shmkit/shm-fd';
import { UsageError } from '@shmkit/shm-fd/unstable-child-process';

import { queryRmmapdStatus } from '../client/status-query';
import { formatBytes } from '../server/limits';
import type { RmmapdStatus } from '../server/status';

export const STATUS_USAGE = `usage: rmmapd status [--json] [--port PORT | --control PATH] [--daemon-uid UID]

Shows the connections, mappings, open files, journal size, bytes read and written and the
budgets of the rmmapd on PORT (default 7878), asked over its control socket (see rmmapd --control).
  --json           the status as one JSON object
  --port PORT      the rmmapd's TCP port, which names its default control socket
  --control PATH   the control socket the rmmapd was given with --control
  --daemon-uid UID also trust an rmmapd running as UID (a service's own user); the answer
                   of a process of any other uid but ours and root's is refused. Root
                   trusts every uid.
`;

export async function statusMain(argv: string[]): Promise<number> {
  let json = false;
  let port: number | undefined;
  let control: string | undefined;
  let daemonUid: number | undefined;
  try {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i] as string;
      const eq = arg.indexOf('=');
      const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
      const value = (): string => {
        if (eq > 0 && arg.startsWith('--')) return arg.slice(eq + 1);
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`option ${flag} needs a value`);
        return v;
      };
      switch (flag) {
        case '-h':
        case '--help':
          process.stdout.write(STATUS_USAGE);
          return 0;
        case '--json':
          json = true;
          break;
        case '--port': {
          const v = value();
          if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new UsageError(`--port: ${JSON.stringify(v)} is not a port number (1-65535)`);
          port = Number(v);
          break;
        }
        case '--control':
          control = value();
          if (control.length === 0) throw new UsageError('--control needs a socket path');
          break;
        case '--daemon-uid': {
          const v = value();
          if (!/^\d+$/.test(v) || Number(v) > 0xfffffffe) throw new UsageError(`--daemon-uid: ${JSON.stringify(v)} is not a numeric uid`);
          daemonUid = Number(v);
          break;
        }
        default:
          throw new UsageError(`status: unknown argument ${JSON.stringify(arg)}`);
      }
    }
    if (port !== undefined && control !== undefined) throw new UsageError('status: give --port or --control, not both');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`rmmapd: ${e.message}\n${STATUS_USAGE}`);
    return 2;
  }
  let s: RmmapdStatus;
  try {
    s = await queryRmmapdStatus({ ...(port !== undefined ? { port } : {}), ...(control !== undefined ? { control } : {}), ...(daemonUid !== undefined ? { daemonUid } : {}) });
  } catch (e) {
    if (!(e instanceof ShmkitError)) throw e;
    process.stderr.write(`rmmapd: ${e.code}: ${e.message}\n`);
    return 1;
  }
  process.stdout.write(json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
  return 0;
}

/** The text form, laid out like `tinyfile status`. */
export function formatStatus(s: RmmapdStatus): string {
  const b = s.budgets;
  const lines = [
    `rmmapd pid ${s.pid} on ${s.address}:${s.port}${s.activated ? ' (socket activation)' : ''}, up ${(s.uptimeMs / 1000).toFixed(0)} s, root ${s.root}${s.readOnly ? ', read-only' : ''}`,
    `connections: ${s.connections}/${b.maxConnections}, ${s.sessions} session(s) remembered`,
    `mappings: ${s.mappings}/${b.maxMappings} (at most ${b.maxMappingsPerConnection} per connection), open files: ${s.openFiles}`,
    `traffic: ${formatBytes(s.bytesRead)} read, ${formatBytes(s.bytesWritten)} written, ${formatBytes(s.unreadBytes)} of replies unread`,
    `journal: ${s.journal === null ? 'off' : `${s.journal.path}, ${formatBytes(s.journal.bytes)} (compacted past ${formatBytes(s.journal.maxBytes)})`}`,
    `budgets: ${b.maxConnections} connections, ${b.maxMappingsPerConnection} mappings per connection and ${b.maxMappings} in total, ` +
      `${formatBytes(b.maxUnreadPerConnection)} unread replies per connection and ${formatBytes(b.maxUnread)} in total, ` +
      `frames up to ${formatBytes(b.maxFrame)}, handshake within ${b.handshakeTimeoutMs} ms`,
  ];
  return `${lines.join('\n')}\n`;
}
