import { setTimeout as sleep } from 'node:timers/promises';

import { FORWARDED_SIGNALS, resolveCommand, spawnWithFds, supervise } from '@shmkit/kit/child';
import { packageVersion, runCommand, stdio, type Io } from '@shmkit/kit/cli';

import { acquireSharedFile } from '../acquire-shared-file';
import { listenEnv } from '../listen-fds';
import { NotifyRelay } from '../notify-relay';
import { parseArgs, USAGE, type ShmFdOptions } from './args';

/** Runs the shm-fd CLI; resolves to the process exit status. */
export function main(argv: string[], io: Io = stdio): Promise<number> {
  return runCommand({ name: 'shm-fd', version: packageVersion('@shmkit/shm-fd', __dirname), help: USAGE }, () => run(parseArgs(argv), io), io);
}

async function run(o: ShmFdOptions, io: Io): Promise<number> {
  const log = (msg: string) => {
    if (!o.quiet) io.err(`shm-fd: ${msg}\n`);
  };
  const [cmd, ...args] = o.command as [string, ...string[]];
  const resolved = resolveCommand(cmd);
  if (!resolved.ok) {
    io.err(`shm-fd: ${resolved.reason}\n`);
    return resolved.status;
  }
  // Its errors (ShmkitError, with a code) are reported by runCommand: exit 1.
  const acquired = acquireSharedFile({ fdName: o.fdName, name: o.name, size: o.size, file: o.file, shm: o.shm, log });
  let relay: NotifyRelay | null = null;
  try {
    if (o.notify === 'relay') relay = NotifyRelay.open({ log });
    const spec = { command: cmd, args, fds: acquired.fds, env: { ...relay?.childEnv(), ...listenEnv(acquired.names) }, pidVars: relay?.childPidVars() };
    if (o.mode === 'run') return (await supervise(spawnWithFds(spec))).status;
    return await watch(spec, o, log);
  } finally {
    relay?.close();
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
