import { ListenFdsError } from './errors';

/** systemd's SD_LISTEN_FDS_START: passed fds begin at 3. */
export const LISTEN_FDS_START = 3;
/** The name under which the shared file travels in LISTEN_FDNAMES. */
export const SHM_SHARED_FD = 'SHM_SHARED_FD';

export interface ListenFd {
  fd: number;
  /** Its LISTEN_FDNAMES entry; systemd's default is "unknown". */
  name: string;
}

export type ListenFdsState =
  | { status: 'absent' }
  | { status: 'other-pid'; pid: number }
  | { status: 'ok'; fds: ListenFd[]; pidChecked: boolean };

type Env = Record<string, string | undefined>;

const MAX_FDS = 4096;
// sd_listen_fds rejects names systemd could not have written (fdname_is_valid).
const NAME = /^[\x21-\x39\x3b-\x7e]{1,255}$/;

/** Whether `name` can be a LISTEN_FDNAMES entry or an fd store name: 1 to 255 printable ASCII characters, no ':' or space. */
export function isValidFdName(name: string): boolean {
  return NAME.test(name);
}

/**
 * Reads LISTEN_FDS / LISTEN_FDNAMES / LISTEN_PID the way libsystemd's
 * sd_listen_fds_with_names does (systemd v255 src/libsystemd/sd-daemon/sd-daemon.c):
 * absent variables mean "not configured"; a LISTEN_PID naming another process
 * means "not for us"; anything malformed is an error.
 */
export function parseListenFds(env: Env, pid: number): ListenFdsState {
  const count = env['LISTEN_FDS'];
  if (count === undefined) return { status: 'absent' };
  const pidVar = env['LISTEN_PID'];
  if (pidVar !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(pidVar)) {
      throw new ListenFdsError('ERR_SHM_LISTEN_PID', `LISTEN_PID=${JSON.stringify(pidVar)} is not a process id`);
    }
    const target = Number(pidVar);
    if (target !== pid) return { status: 'other-pid', pid: target };
  }
  if (!/^(0|[1-9][0-9]{0,5})$/.test(count) || Number(count) > MAX_FDS) {
    throw new ListenFdsError('ERR_SHM_LISTEN_FDS', `LISTEN_FDS=${JSON.stringify(count)} is not a count of fds (0..${MAX_FDS})`);
  }
  const n = Number(count);
  const namesVar = env['LISTEN_FDNAMES'];
  let names: string[];
  if (namesVar === undefined) {
    names = Array.from({ length: n }, () => 'unknown');
  } else {
    names = n === 0 && namesVar === '' ? [] : namesVar.split(':');
    if (names.length !== n) {
      throw new ListenFdsError(
        'ERR_SHM_LISTEN_FDNAMES',
        `LISTEN_FDNAMES has ${names.length} names but LISTEN_FDS=${n}; they must match one to one`,
      );
    }
    const bad = names.find((name) => !isValidFdName(name));
    if (bad !== undefined) {
      throw new ListenFdsError('ERR_SHM_LISTEN_FDNAMES', `LISTEN_FDNAMES contains an invalid name ${JSON.stringify(bad)}`);
    }
  }
  return { status: 'ok', fds: names.map((name, i) => ({ fd: LISTEN_FDS_START + i, name })), pidChecked: pidVar !== undefined };
}

export interface ListenFdsOptions {
  env?: Env;
  pid?: number;
  /** Remove the variables after reading, like `sd_listen_fds(1)`, so children do not inherit them. */
  unsetEnv?: boolean;
}

/** The fds passed to this process, or null when none were passed to it. */
export function listenFds(options: ListenFdsOptions = {}): ListenFd[] | null {
  const env = options.env ?? process.env;
  try {
    const state = parseListenFds(env, options.pid ?? process.pid);
    return state.status === 'ok' ? state.fds : null;
  } finally {
    if (options.unsetEnv === true) unsetListenEnv(env);
  }
}

export function unsetListenEnv(env: Env): void {
  delete env['LISTEN_FDS'];
  delete env['LISTEN_FDNAMES'];
  delete env['LISTEN_PID'];
}

/** The variables that describe `names` (fd 3 onwards) to a child. */
export function listenEnv(names: readonly string[], pid?: number): Record<string, string> {
  const env: Record<string, string> = { LISTEN_FDS: String(names.length), LISTEN_FDNAMES: names.join(':') };
  if (pid !== undefined) env['LISTEN_PID'] = String(pid);
  return env;
}
