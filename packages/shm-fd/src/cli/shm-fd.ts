import { setTimeout as sleep } from 'node:timers/promises';

import { ShmkitError } from '../errors';
import { resolveCommand } from '../child/resolve-command';
import { FORWARDED_SIGNALS, spawnWithFds, supervise } from '../child/supervise';
import { acquireSharedFile } from './acquire';
import { parseArgs, USAGE, type ShmFdOptions } from './args';
import { stdio, type Io } from './io';
import { UsageError } from './usage-error';
import { version } from './version';

/** Runs the shm-fd CLI; resolves to the process exit status. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let o: ShmFdOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`shm-fd: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (o.mode === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (o.mode === 'version') {
    io.out(`shm-fd ${version()}\n`);
    return 0;
  }
  const log = (msg: string) => {
    if (!o.quiet) io.err(`shm-fd: ${msg}\n`);
  };
  const [cmd, ...args] = o.command as [string, ...string[]];
  const resolved = resolveCommand(cmd);
  if (!resolved.ok) {
    io.err(`shm-fd: ${resolved.reason}\n`);
    return resolved.status;
  }
  let acquired;
  try {
    acquired = acquireSharedFile({ fdName: o.fdName, name: o.name, size: o.size, file: o.file, shm: o.shm, log });
  } catch (err) {
    if (err instanceof ShmkitError) {
      io.err(`shm-fd: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  try {
    const spec = { command: cmd, args, fds: acquired.fds, names: acquired.names };
    if (o.mode === 'run') return (await supervise(spawnWithFds(spec))).status;
    return await watch(spec, o, log);
  } finally {
    acquired.owned?.close();
  }
}

/** Re-runs the command on the same file, like watch(1), until stopped. */
async function watch(spec: Parameters<typeof spawnWithFds>[0], o: ShmFdOptions, log: (m: string) => void): Promise<number> {
  let stopSignal: NodeJS.Signals | null = null;
  const abort = new AbortController();
  const stop = (sig: NodeJS.Signals) => {
    stopSignal ??= sig;
    abort.abort();
  };
  // Between runs there is no child: a signal just ends the loop.
  for (const sig of FORWARDED_SIGNALS) process.on(sig, stop);
  try {
    let status = 0;
    for (let run = 1; run <= o.count; run++) {
      const result = await supervise(spawnWithFds(spec), stop);
      status = result.status;
      if (stopSignal !== null) break;
      if (o.errexit && status !== 0) {
        log(`run ${run} failed with status ${status}; stopping (--errexit)`);
        break;
      }
      if (run === o.count) break;
      try {
        await sleep(o.interval * 1000, undefined, { signal: abort.signal });
      } catch {
        break;
      }
    }
    if (stopSignal !== null) {
      log(`stopped by ${stopSignal}`);
      return status !== 0 ? status : 0;
    }
    return status;
  } finally {
    for (const sig of FORWARDED_SIGNALS) process.off(sig, stop);
  }
}
