import { durationOption, parseCommandLine, sizeOption, UsageError } from '@shmkit/kit/cli';

import { isValidFdName } from '../listen-fds';
import { notifyOption, type NotifyMode } from '../notify-relay';

export interface ShmFdOptions {
  mode: 'run' | 'watch';
  size: number;
  name: string;
  fdName: string;
  file?: string;
  shm?: string;
  quiet: boolean;
  interval: number;
  count: number;
  errexit: boolean;
  notify: NotifyMode;
  command: string[];
}

/** Every option shm-fd takes; the help lists each. */
export const OPTIONS = {
  size: { type: 'string' },
  name: { type: 'string' },
  'fd-name': { type: 'string' },
  file: { type: 'string' },
  shm: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  interval: { type: 'string', short: 'n' },
  count: { type: 'string', short: 'c' },
  errexit: { type: 'boolean', short: 'e' },
  notify: { type: 'string' },
} as const;

export const USAGE = `Usage:
  shm-fd [run] [options] -- CMD [ARGS...]
  shm-fd watch [-n SECONDS] [--count N] [--errexit] [options] -- CMD [ARGS...]

Runs CMD with a shared-memory file passed as fd 3+ (LISTEN_FDS,
LISTEN_FDNAMES=...:SHM_SHARED_FD, LISTEN_PID), reusing one passed to shm-fd
itself or creating a sealable memfd. 'watch' re-runs CMD on the same file.

Options:
  --size SIZE        size of a newly created file in bytes, or with a suffix
                     k, M, G, T (also KiB, MiB…: multiples of 1024); default 0
  --name NAME        memfd name shown in /proc/PID/fd (default "persistent")
  --fd-name NAME     name in LISTEN_FDNAMES (default SHM_SHARED_FD)
  --file PATH        use (or create, mode 0600) a file on tmpfs, e.g. /dev/shm/app
  --shm NAME         use (or create) POSIX shared memory /NAME
  --notify MODE      with NOTIFY_SOCKET set: 'relay' (default) gives CMD a
                     notify socket of shm-fd's own and sends READY=1, STATUS=
                     and the like on from shm-fd, the main process
                     (NotifyAccess=main); 'pass' hands CMD NOTIFY_SOCKET
                     itself (the unit needs NotifyAccess=all)
  -q, --quiet        no messages from shm-fd itself
  -n, --interval T   watch: time between runs: seconds, or with a unit
                     (500ms, 2s, 1m); default 2
  -c, --count N      watch: stop after N runs
  -e, --errexit      watch: stop at the first failing run
  -h, --help         this text
  -V, --version      print the version
`;

/** Parses shm-fd's argv (without node and script). Throws UsageError, or InfoRequest for --help/--version. */
export function parseArgs(argv: string[]): ShmFdOptions {
  let mode: ShmFdOptions['mode'] = 'run';
  let rest = argv;
  if (argv[0] === 'run' || argv[0] === 'watch') {
    mode = argv[0];
    rest = argv.slice(1);
  }
  // The first operand starts the command, as in `shm-fd ./primes`.
  const { values: v, operands } = parseCommandLine(rest, { options: OPTIONS, operands: 'stop' });
  const o: ShmFdOptions = {
    mode,
    size: v.size === undefined ? 0 : sizeOption('--size', v.size),
    name: 'persistent',
    fdName: 'SHM_SHARED_FD',
    quiet: v.quiet === true,
    interval: 2,
    count: Infinity,
    errexit: v.errexit === true,
    notify: notifyOption(v.notify),
    command: operands,
  };
  if (v.name !== undefined) {
    if (v.name === '' || v.name.includes('/')) throw new UsageError(`--name: ${JSON.stringify(v.name)} is not a valid memfd name`);
    o.name = v.name;
  }
  if (v['fd-name'] !== undefined) {
    if (!isValidFdName(v['fd-name'])) throw new UsageError(`--fd-name: ${JSON.stringify(v['fd-name'])} is not a valid LISTEN_FDNAMES entry (no ':' or spaces)`);
    o.fdName = v['fd-name'];
  }
  if (v.file !== undefined) o.file = v.file;
  if (v.shm !== undefined) o.shm = v.shm.startsWith('/') ? v.shm : `/${v.shm}`;
  if (v.interval !== undefined) o.interval = durationOption('--interval', v.interval, { plainUnit: 's', maxMs: 86_400_000 }) / 1000;
  if (v.count !== undefined) {
    if (!/^[1-9][0-9]*$/.test(v.count)) throw new UsageError(`--count: ${JSON.stringify(v.count)} is not a positive whole number`);
    o.count = Number(v.count);
  }
  if (o.file !== undefined && o.shm !== undefined) throw new UsageError('--file and --shm cannot be combined');
  if (o.mode !== 'watch' && (o.count !== Infinity || o.errexit)) {
    throw new UsageError('--count and --errexit only apply to `shm-fd watch`');
  }
  if (o.command.length === 0) throw new UsageError('no command given; put it after --');
  return o;
}
