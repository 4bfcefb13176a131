import { splitOption, takeValue } from './option';
import { parseSize } from './size';
import { UsageError } from './usage-error';

export interface ShmFdOptions {
  mode: 'run' | 'watch' | 'help' | 'version';
  size: number;
  name: string;
  fdName: string;
  file?: string;
  shm?: string;
  quiet: boolean;
  interval: number;
  count: number;
  errexit: boolean;
  command: string[];
}

export const USAGE = `Usage:
  shm-fd [run] [options] -- CMD [ARGS...]
  shm-fd watch [-n SECONDS] [--count N] [--errexit] [options] -- CMD [ARGS...]

Runs CMD with a shared-memory file passed as fd 3+ (LISTEN_FDS,
LISTEN_FDNAMES=...:SHM_SHARED_FD, LISTEN_PID), reusing one passed to shm-fd
itself or creating a sealable memfd. 'watch' re-runs CMD on the same file.

Options:
  --size SIZE        size of a newly created file (e.g. 64k, 8M, 1G); default 0
  --name NAME        memfd name shown in /proc/PID/fd (default "persistent")
  --fd-name NAME     name in LISTEN_FDNAMES (default SHM_SHARED_FD)
  --file PATH        use (or create, mode 0600) a file on tmpfs, e.g. /dev/shm/app
  --shm NAME         use (or create) POSIX shared memory /NAME
  -q, --quiet        no messages from shm-fd itself
  -n, --interval S   watch: seconds between runs (default 2)
  -c, --count N      watch: stop after N runs
  -e, --errexit      watch: stop at the first failing run
  -h, --help         this text
  -V, --version      print the version
`;

/** Parses shm-fd's argv (without node and script). Throws UsageError. */
export function parseArgs(argv: string[]): ShmFdOptions {
  const o: ShmFdOptions = {
    mode: 'run',
    size: 0,
    name: 'persistent',
    fdName: 'SHM_SHARED_FD',
    quiet: false,
    interval: 2,
    count: Infinity,
    errexit: false,
    command: [],
  };
  let i = 0;
  if (argv[0] === 'run' || argv[0] === 'watch') {
    o.mode = argv[0];
    i = 1;
  }
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      o.command = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      // The first operand starts the command, as in `shm-fd ./primes`.
      o.command = argv.slice(i);
      break;
    }
    const { flag, inline } = splitOption(arg);
    let v: string;
    switch (flag) {
      case '-h':
      case '--help':
        o.mode = 'help';
        return o;
      case '-V':
      case '--version':
        o.mode = 'version';
        return o;
      case '-q':
      case '--quiet':
        o.quiet = true;
        break;
      case '-e':
      case '--errexit':
        o.errexit = true;
        break;
      case '--size': {
        [v, i] = takeValue(argv, i, flag, inline);
        const n = parseSize(v);
        if (n === null) throw new UsageError(`--size: cannot read ${JSON.stringify(v)} as a size (e.g. 4096, 64k, 8M, 1G)`);
        o.size = n;
        break;
      }
      case '--name':
        [v, i] = takeValue(argv, i, flag, inline);
        if (v === '' || v.includes('/')) throw new UsageError(`--name: ${JSON.stringify(v)} is not a valid memfd name`);
        o.name = v;
        break;
      case '--fd-name':
        [v, i] = takeValue(argv, i, flag, inline);
        if (!/^[\x21-\x39\x3b-\x7e]{1,255}$/.test(v)) throw new UsageError(`--fd-name: ${JSON.stringify(v)} is not a valid LISTEN_FDNAMES entry (no ':' or spaces)`);
        o.fdName = v;
        break;
      case '--file':
        [v, i] = takeValue(argv, i, flag, inline);
        o.file = v;
        break;
      case '--shm':
        [v, i] = takeValue(argv, i, flag, inline);
        o.shm = v.startsWith('/') ? v : `/${v}`;
        break;
      case '-n':
      case '--interval': {
        [v, i] = takeValue(argv, i, flag, inline);
        const n = Number(v);
        if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a number of seconds`);
        o.interval = n;
        break;
      }
      case '-c':
      case '--count': {
        [v, i] = takeValue(argv, i, flag, inline);
        if (!/^[1-9][0-9]*$/.test(v)) throw new UsageError(`${flag}: ${JSON.stringify(v)} is not a positive whole number`);
        o.count = Number(v);
        break;
      }
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (o.file !== undefined && o.shm !== undefined) throw new UsageError('--file and --shm cannot be combined');
  if (o.mode !== 'watch' && (o.count !== Infinity || o.errexit)) {
    throw new UsageError('--count and --errexit only apply to `shm-fd watch`');
  }
  if (o.command.length === 0) throw new UsageError('no command given; put it after --');
  return o;
}
