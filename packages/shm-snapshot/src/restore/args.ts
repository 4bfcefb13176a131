import { splitOption, takeValue, UsageError } from '@shmkit/shm-fd/unstable-child-process';

export interface RunOptions {
  mode: 'run';
  snapshot: 'restore-v1' | null;
  intervalMs: number;
  reset: boolean;
  quiet: boolean;
  fdName: string;
  backup: string;
  command: string[];
}

export type RestoreOptions =
  | RunOptions
  | { mode: 'inspect'; backup: string; json: boolean; maxBytes: number }
  | { mode: 'help' | 'version' };

export const USAGE = `Usage:
  shm-restore [--snapshot restore-v1] [--interval MS] [--reset] BACKUP -- CMD [ARGS...]
  shm-restore inspect [--json] [--bytes N] BACKUP

Runs CMD with a shared-memory file (LISTEN_FDS, LISTEN_FDNAMES=SHM_SHARED_FD,
LISTEN_PID) whose contents persist in the file BACKUP: a new shared file is
filled from BACKUP before CMD starts, and its state is written back to BACKUP
(temp file, fsync, atomic rename) when CMD exits.

Options:
  --snapshot restore-v1  also take crash-consistent snapshots while CMD runs
                         (CMD must use the shm-snapshot journal)
  --interval MS          time between snapshots (default 100)
  --reset                start with an empty shared file; an existing BACKUP
                         (even a corrupt one) is moved aside to BACKUP.reset-TIME
  --fd-name NAME         name in LISTEN_FDNAMES (default SHM_SHARED_FD)
  -q, --quiet            no messages from shm-restore itself
  -h, --help             this text
  -V, --version          print the version

inspect prints BACKUP's configuration, valid entries (payloads in hex, the
first N bytes, default 64) and tail size; --json for machines.
`;

/** Parses shm-restore's argv (without node and script). Throws UsageError. */
export function parseArgs(argv: string[]): RestoreOptions {
  if (argv[0] === 'inspect') return parseInspect(argv.slice(1));
  const o: RunOptions = { mode: 'run', snapshot: null, intervalMs: 100, reset: false, quiet: false, fdName: 'SHM_SHARED_FD', backup: '', command: [] };
  let backup: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      o.command = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      if (backup === undefined) {
        backup = arg;
        continue;
      }
      // The operand after BACKUP starts the command, as in the Rust wrapper.
      o.command = argv.slice(i);
      break;
    }
    const { flag, inline } = splitOption(arg);
    let v: string;
    switch (flag) {
      case '-h':
      case '--help':
        return { mode: 'help' };
      case '-V':
      case '--version':
        return { mode: 'version' };
      case '-q':
      case '--quiet':
        o.quiet = true;
        break;
      case '--reset':
        o.reset = true;
        break;
      case '--snapshot':
        [v, i] = takeValue(argv, i, flag, inline);
        if (v !== 'restore-v1') throw new UsageError(`--snapshot: unknown mode ${JSON.stringify(v)}; the only mode is restore-v1`);
        o.snapshot = v;
        break;
      case '--interval': {
        [v, i] = takeValue(argv, i, flag, inline);
        if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 86_400_000) {
          throw new UsageError(`--interval: ${JSON.stringify(v)} is not a whole number of milliseconds (1 to 86400000)`);
        }
        o.intervalMs = Number(v);
        break;
      }
      case '--fd-name':
        [v, i] = takeValue(argv, i, flag, inline);
        if (!/^[\x21-\x39\x3b-\x7e]{1,255}$/.test(v)) throw new UsageError(`--fd-name: ${JSON.stringify(v)} is not a valid LISTEN_FDNAMES entry (no ':' or spaces)`);
        o.fdName = v;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (backup === undefined) throw new UsageError('no BACKUP file given');
  if (backup === '') throw new UsageError('BACKUP must not be empty');
  o.backup = backup;
  if (o.command.length === 0) throw new UsageError('no command given; put it after BACKUP --');
  return o;
}

function parseInspect(argv: string[]): RestoreOptions {
  let json = false;
  let maxBytes = 64;
  let backup: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '-h' || arg === '--help') return { mode: 'help' };
    else if (arg === '--bytes' || arg.startsWith('--bytes=')) {
      let v: string;
      [v, i] = takeValue(argv, i, '--bytes', arg.startsWith('--bytes=') ? arg.slice(8) : undefined);
      if (!/^[0-9]+$/.test(v)) throw new UsageError(`--bytes: ${JSON.stringify(v)} is not a whole number`);
      maxBytes = Number(v);
    } else if (arg.startsWith('-') && arg !== '-') throw new UsageError(`inspect: unknown option ${arg}`);
    else if (backup === undefined) backup = arg;
    else throw new UsageError(`inspect takes one BACKUP, got also ${JSON.stringify(arg)}`);
  }
  if (backup === undefined) throw new UsageError('inspect: no BACKUP file given');
  return { mode: 'inspect', backup, json, maxBytes };
}
