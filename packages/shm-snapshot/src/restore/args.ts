import { durationOption, parseCommandLine, sizeOption, UsageError } from '@shmkit/kit/cli';
import { isValidFdName, notifyOption, type NotifyMode } from '@shmkit/shm-fd';

export interface RunOptions {
  mode: 'run';
  snapshot: 'restore-v1' | null;
  intervalMs: number;
  reset: boolean;
  quiet: boolean;
  fdName: string;
  notify: NotifyMode;
  backup: string;
  command: string[];
}

export type RestoreOptions =
  | RunOptions
  | { mode: 'inspect'; backup: string; json: boolean; maxBytes: number };

export const USAGE = `Usage:
  shm-restore [--snapshot restore-v1] [--interval T] [--reset] [--fd-name NAME] [--notify relay|pass] [-q] BACKUP -- CMD [ARGS...]
  shm-restore inspect [--json] [--bytes N] BACKUP
  shm-restore --help | --version

Runs CMD with a shared-memory file (LISTEN_FDS, LISTEN_FDNAMES=SHM_SHARED_FD,
LISTEN_PID) whose contents persist in the file BACKUP: a new shared file is
filled from BACKUP before CMD starts, and its state is written back to BACKUP
(temp file, fsync, atomic rename) when CMD exits.

Options:
  --snapshot restore-v1  also take crash-consistent snapshots while CMD runs
                         (CMD must use the shm-snapshot journal)
  --interval T           time between snapshots: milliseconds, or with a
                         unit (500ms, 2s, 1m); default 100
  --reset                start with an empty shared file; an existing BACKUP
                         (even a corrupt one) is moved aside to BACKUP.reset-TIME
  --fd-name NAME         name in LISTEN_FDNAMES (default SHM_SHARED_FD)
  --notify MODE          with NOTIFY_SOCKET set: 'relay' (default) gives CMD
                         a notify socket of shm-restore's own and sends
                         READY=1, STATUS= and the like on from shm-restore,
                         the main process (NotifyAccess=main); 'pass' hands
                         CMD NOTIFY_SOCKET itself (needs NotifyAccess=all)
  -q, --quiet            no messages from shm-restore itself
  -h, --help             this text
  -V, --version          print the version

inspect prints BACKUP's configuration, valid entries (payloads in hex, the
first N bytes, default 64; --bytes N, a size such as 256 or 1k) and tail
size; --json for machines.
`;

export const RUN_OPTIONS = {
  snapshot: { type: 'string' },
  interval: { type: 'string' },
  reset: { type: 'boolean' },
  'fd-name': { type: 'string' },
  notify: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

export const INSPECT_OPTIONS = {
  json: { type: 'boolean' },
  bytes: { type: 'string' },
} as const;

/** Parses shm-restore's argv (without node and script). Throws UsageError, or InfoRequest for --help/--version. */
export function parseArgs(argv: string[]): RestoreOptions {
  if (argv[0] === 'inspect') return parseInspect(argv.slice(1));
  // Options go before BACKUP and between BACKUP and CMD; the operand after BACKUP starts the command.
  const first = parseCommandLine(argv, { options: RUN_OPTIONS, operands: 'stop' });
  const [backup, ...afterBackup] = first.terminated ? [] : first.operands;
  if (backup === undefined) throw new UsageError('no BACKUP file given');
  if (backup === '') throw new UsageError('BACKUP must not be empty');
  const second = parseCommandLine(afterBackup, { options: RUN_OPTIONS, operands: 'stop' });
  const v = { ...first.values, ...second.values };
  const o: RunOptions = { mode: 'run', snapshot: null, intervalMs: 100, reset: v.reset === true, quiet: v.quiet === true, fdName: 'SHM_SHARED_FD', notify: notifyOption(v.notify), backup, command: second.operands };
  if (v.snapshot !== undefined) {
    if (v.snapshot !== 'restore-v1') throw new UsageError(`--snapshot: unknown mode ${JSON.stringify(v.snapshot)}; the only mode is restore-v1`);
    o.snapshot = v.snapshot;
  }
  if (v.interval !== undefined) o.intervalMs = durationOption('--interval', v.interval, { plainUnit: 'ms', minMs: 1, maxMs: 86_400_000 });
  if (v['fd-name'] !== undefined) {
    if (!isValidFdName(v['fd-name'])) throw new UsageError(`--fd-name: ${JSON.stringify(v['fd-name'])} is not a valid LISTEN_FDNAMES entry (no ':' or spaces)`);
    o.fdName = v['fd-name'];
  }
  if (o.command.length === 0) throw new UsageError('no command given; put it after BACKUP --');
  return o;
}

function parseInspect(argv: string[]): RestoreOptions {
  const { values: v, operands } = parseCommandLine(argv, { options: INSPECT_OPTIONS });
  const maxBytes = v.bytes === undefined ? 64 : sizeOption('--bytes', v.bytes);
  const [backup, extra] = operands;
  if (backup === undefined) throw new UsageError('inspect: no BACKUP file given');
  if (extra !== undefined) throw new UsageError(`inspect takes one BACKUP, got also ${JSON.stringify(extra)}`);
  return { mode: 'inspect', backup, json: v.json === true, maxBytes };
}
