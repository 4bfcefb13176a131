import { parseCommandLine, sizeOption, UsageError } from '@shmkit/kit/cli';

/** shm-state's help; it lists every option. */
export const USAGE = `Usage:
  shm-state inspect (--file PATH | --shm NAME | --env) [--offset BYTES] [--json]
  shm-state --help | --version

Lists the named regions of a shm-state file (name, kind, offset, length) and
the state of each structure: queue lengths, lock holders, counters, structs
decoded with their stored layout. Read-only.

  --file PATH     a file, e.g. /dev/shm/app
  --shm NAME      POSIX shared memory /NAME
  --env           the SHM_SHARED_FD passed in LISTEN_FDS (run under shm-fd)
  --offset BYTES  where the directory starts in the file: bytes, or with a
                  suffix k, M, G (multiples of 1024); default 0
  --json          one JSON document instead of text
  -h, --help      this text
  -V, --version   print the version`;

export const INSPECT_OPTIONS = {
  file: { type: 'string' },
  shm: { type: 'string' },
  env: { type: 'boolean' },
  offset: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** What `shm-state inspect` was asked to read. */
export interface InspectArgs {
  file?: string;
  shm?: string;
  env: boolean;
  offset: number;
  json: boolean;
}

/** Parses shm-state's argv (without node and script). Throws UsageError, or InfoRequest for --help/--version. */
export function parseInspectArgs(argv: string[]): InspectArgs {
  const top = parseCommandLine(argv, { options: {}, operands: 'stop' });
  const [command, ...rest] = top.operands;
  if (command !== 'inspect') throw new UsageError(command === undefined ? 'missing command (inspect)' : `unknown command ${JSON.stringify(command)} (expected inspect)`);
  const { values: v, operands } = parseCommandLine(rest, { options: INSPECT_OPTIONS });
  if (operands.length > 0) throw new UsageError(`inspect takes no operand, got ${JSON.stringify(operands[0])}`);
  const o: InspectArgs = { env: v.env === true, offset: v.offset === undefined ? 0 : sizeOption('--offset', v.offset), json: v.json === true };
  if (v.file !== undefined) o.file = v.file;
  if (v.shm !== undefined) o.shm = v.shm.startsWith('/') ? v.shm : `/${v.shm}`;
  const sources = [o.file !== undefined, o.shm !== undefined, o.env].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('give exactly one of --file, --shm, --env');
  return o;
}
