// `rmmapd status`: what a running rmmapd serves and holds, asked over its
// local control socket (never its TCP port).
import { packageVersion, parseCommandLine, runCommand, UsageError } from '@shmkit/kit/cli';
import { ShmkitError } from '@shmkit/shm-fd';

import { queryRmmapdStatus } from '../client/status-query';
import { formatBytes } from '../server/limits';
import type { RmmapdStatus } from '../server/status';

export const STATUS_USAGE = `Usage: rmmapd status [--json] [--port PORT | --control PATH] [--daemon-uid UID]

Shows the connections, mappings, open files, journal size, bytes read and written and the
budgets of the rmmapd on PORT (default 7878), asked over its control socket (see rmmapd --control).
  --json           the status as one JSON object
  --port PORT      the rmmapd's TCP port, which names its default control socket
  --control PATH   the control socket the rmmapd was given with --control
  --daemon-uid UID also trust an rmmapd running as UID (a service's own user); the answer
                   of a process of any other uid but ours and root's is refused. Root
                   trusts every uid.
`;

export const STATUS_OPTIONS = {
  json: { type: 'boolean' },
  port: { type: 'string' },
  control: { type: 'string' },
  'daemon-uid': { type: 'string' },
} as const;

export function statusMain(argv: string[]): Promise<number> {
  return runCommand({ name: 'rmmapd status', version: packageVersion('@shmkit/rmmap', __dirname), help: STATUS_USAGE }, () => status(argv));
}

async function status(argv: string[]): Promise<number> {
  const { values: v, operands } = parseCommandLine(argv, { options: STATUS_OPTIONS });
  if (operands.length > 0) throw new UsageError(`unexpected operand ${JSON.stringify(operands[0])}; status takes options only`);
  const json = v.json === true;
  let port: number | undefined;
  let daemonUid: number | undefined;
  if (v.port !== undefined) {
    if (!/^\d+$/.test(v.port) || Number(v.port) < 1 || Number(v.port) > 65535) throw new UsageError(`--port: ${JSON.stringify(v.port)} is not a port number (1-65535)`);
    port = Number(v.port);
  }
  const control = v.control;
  if (control !== undefined && control.length === 0) throw new UsageError('--control needs a socket path');
  if (v['daemon-uid'] !== undefined) {
    if (!/^\d+$/.test(v['daemon-uid']) || Number(v['daemon-uid']) > 0xfffffffe) throw new UsageError(`--daemon-uid: ${JSON.stringify(v['daemon-uid'])} is not a numeric uid`);
    daemonUid = Number(v['daemon-uid']);
  }
  if (port !== undefined && control !== undefined) throw new UsageError('give --port or --control, not both');
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
