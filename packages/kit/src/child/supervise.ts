import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';

export interface ChildSpec {
  command: string;
  args: readonly string[];
  /** fds to place at 3, 4, … in the child, in order. */
  fds: readonly number[];
  /**
   * Extra environment merged over process.env: the caller's LISTEN_FDS and
   * LISTEN_FDNAMES describing `fds` go here. LISTEN_PID is set to the
   * child's own pid by the trampoline.
   */
  env?: Record<string, string | undefined>;
  /**
   * More variables set to the child's own pid, like LISTEN_PID (say
   * WATCHDOG_PID when the child is to feed a watchdog its parent relays).
   */
  pidVars?: readonly string[];
  /** stdin, stdout, stderr of the child; default all inherited. */
  stdio?: [StdioNull | StdioPipe, StdioNull | StdioPipe, StdioNull | StdioPipe];
  cwd?: string;
}

type StdioNull = 'inherit' | 'ignore' | number;
type StdioPipe = 'pipe';

export interface ChildExit {
  /** Shell-style status: the exit code, or 128 + signal number. */
  status: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Signals a wrapper passes on to its child instead of dying from them. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

// LISTEN_PID must be the child's own pid for sd_listen_fds to accept the fds,
// and Node cannot exec: a shell sets it to $$ and then execs the command, so
// the pid does not change. setpriv (util-linux) adds a parent-death signal,
// so a SIGKILLed wrapper never leaves an orphan behind. $1 lists further
// variables to set to the pid (names checked below, so `export` sees no
// other words).
const TRAMPOLINE = 'LISTEN_PID=$$; export LISTEN_PID; for v in $1; do export "$v=$$"; done; shift; exec "$@"';
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (osConstants.signals[signal] ?? 0);
  return 1;
}

/** Starts the child with the fds at 3… and LISTEN_PID set to its own pid. */
export function spawnWithFds(spec: ChildSpec): ChildProcess {
  const env: Record<string, string | undefined> = { ...process.env, ...spec.env };
  delete env['LISTEN_PID'];
  const pidVars = spec.pidVars ?? [];
  const bad = pidVars.find((v) => !ENV_NAME.test(v));
  if (bad !== undefined) throw new TypeError(`pidVars: ${JSON.stringify(bad)} is not an environment variable name`);
  const sh = ['/bin/sh', '-c', TRAMPOLINE, 'shm-fd', pidVars.join(' '), spec.command, ...spec.args];
  const argv = SETPRIV === undefined ? sh : [SETPRIV, '--pdeathsig', 'SIGTERM', '--', ...sh];
  return spawn(argv[0] as string, argv.slice(1), {
    stdio: [...(spec.stdio ?? ['inherit', 'inherit', 'inherit']), ...spec.fds],
    env,
    cwd: spec.cwd,
  });
}

/**
 * Waits for the child, forwarding FORWARDED_SIGNALS to it meanwhile.
 * `onSignal` hears each forwarded signal (e.g. to stop a watch loop).
 */
export function supervise(child: ChildProcess, onSignal?: (sig: NodeJS.Signals) => void): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const sig of FORWARDED_SIGNALS) {
      const h = () => {
        onSignal?.(sig);
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      };
      handlers.set(sig, h);
      process.on(sig, h);
    }
    const done = () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    };
    child.once('error', (err) => {
      done();
      reject(err);
    });
    child.once('exit', (code, signal) => {
      done();
      resolve({ status: exitStatus(code, signal), code, signal });
    });
  });
}
