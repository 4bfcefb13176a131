import { debuglog } from 'node:util';

import * as sys from '@shmkit/shm-fd/sys';
import { resolveCommand, spawnWithFds, supervise, type ChildExit } from '@shmkit/kit/child';
import { packageVersion, runCommand, stdio, type Io } from '@shmkit/kit/cli';
import { acquireSharedFile, listenEnv, LogLimiter, NotifyRelay, ShmkitError } from '@shmkit/shm-fd';

import { parseArgs, USAGE, type RestoreOptions, type RunOptions } from './args';
import { BackupPath } from './backup';
import { formatReport, inspect } from './inspect';
import { examineBackup, fillFromBackup, snapshotCycle, writeBack, type SnapshotState } from './snapshotter';

// Cycles that skip for these reasons are the normal course (before the child
// configured the file, or while it is idle); the rest are worth a line.
const BENIGN = /^(the shared file has \d+ bytes|the shared file carries no|no valid entry|no commit since)/;

// NODE_DEBUG=shm-restore traces every snapshot cycle.
const debug = debuglog('shm-restore');

/** Runs the shm-restore CLI; resolves to the process exit status. */
export function main(argv: string[], io: Io = stdio): Promise<number> {
  // shm-restore's version is that of @shmkit/shm-snapshot.
  const info = { name: 'shm-restore', version: packageVersion('@shmkit/shm-snapshot', __dirname), help: USAGE };
  return runCommand(info, () => dispatch(parseArgs(argv), io), io);
}

async function dispatch(o: RestoreOptions, io: Io): Promise<number> {
  switch (o.mode) {
    case 'inspect':
      try {
        const report = inspect(o.backup, o.maxBytes);
        io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        return 0;
      } catch (err) {
        if (err instanceof ShmkitError || isFsError(err)) {
          io.err(`shm-restore: ${o.backup}: ${(err as Error).message}\n`);
          return 1;
        }
        throw err;
      }
    case 'run':
      return run(o, io);
  }
}

function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function run(o: RunOptions, io: Io): Promise<number> {
  const log = (msg: string) => {
    if (!o.quiet) io.err(`shm-restore: ${msg}\n`);
  };
  const fail = (msg: string) => {
    io.err(`shm-restore: ${msg}\n`);
    return 1;
  };
  const [cmd, ...args] = o.command as [string, ...string[]];
  const resolved = resolveCommand(cmd);
  if (!resolved.ok) {
    io.err(`shm-restore: ${resolved.reason}\n`);
    return resolved.status;
  }
  let backup: BackupPath;
  try {
    backup = BackupPath.open(o.backup);
  } catch (err) {
    if (err instanceof ShmkitError || isFsError(err)) return fail(`cannot use ${o.backup}: ${describe(err)} (${(err as { code: string }).code})`);
    throw err;
  }
  // A lease break is signalled with SIGIO, whose default action would kill
  // us; BackupPath holds a lease for microseconds on a file nobody can name.
  const ignoreSigio = () => undefined;
  process.on('SIGIO', ignoreSigio);
  try {
    return await runWith(o, io, backup, cmd, args, log, fail);
  } finally {
    backup.dispose();
    process.off('SIGIO', ignoreSigio);
  }
}

async function runWith(
  o: RunOptions,
  io: Io,
  backup: BackupPath,
  cmd: string,
  args: string[],
  log: (msg: string) => void,
  fail: (msg: string) => number,
): Promise<number> {
  const state: SnapshotState = { baselineEnd: 0, configuration: null, lastWriteOffset: 0, resetPending: false };

  // 1. BACKUP: clean up after killed runs, then decide what to restore.
  let restoreFrom = false;
  try {
    backup.lock();
    for (const name of backup.removeStaleTemps()) log(`removed ${name}, left by a run that was killed`);
    let found = examineBackup(backup);
    if (found.kind === 'corrupt' && !o.reset) {
      return fail(
        `${backup.file} is corrupt: ${found.error.message} (${found.error.code}).\n` +
          `  It was left untouched. Repair or move it, or run with --reset to keep it aside and start empty.`,
      );
    }
    if (o.snapshot !== null && found.kind === 'opaque' && !o.reset) {
      return fail(
        `${backup.file} has ${found.size} bytes but no shm-snapshot head, so --snapshot restore-v1 cannot have written it (ERR_SNAPSHOT_BAD_MAGIC).\n` +
          `  It was left untouched. Move it, or run with --reset to keep it aside and start empty.`,
      );
    }
    if (o.reset) {
      if (found.kind !== 'absent' && found.kind !== 'empty') log(`--reset: moved the previous BACKUP aside to ${backup.keepAside('reset')}`);
      found = { kind: 'absent' as const };
    }
    if (found.kind === 'absent' && backup.size() === null) {
      backup.createEmpty();
      log(`created an empty ${backup.file}`);
    }
    if (found.kind === 'snapshot') {
      state.baselineEnd = found.newestEnd;
      state.configuration = { entries: found.configuration.entries, dataBytes: found.configuration.dataBytes };
      state.lastWriteOffset = found.configuration.writeOffset;
    }
    restoreFrom = found.kind === 'snapshot' || found.kind === 'opaque';
  } catch (err) {
    if (err instanceof ShmkitError || isFsError(err)) return fail(`cannot use ${backup.file}: ${describe(err)} (${(err as { code: string }).code})`);
    throw err;
  }

  // 2. The shared file: reused when passed in (it is newer than BACKUP), else created and filled.
  let acquired;
  try {
    acquired = acquireSharedFile({ fdName: o.fdName, name: 'persistent', size: 0, log });
  } catch (err) {
    if (err instanceof ShmkitError) return fail(err.message);
    throw err;
  }
  const memfd = acquired.fds[acquired.index] as number;
  let relay: NotifyRelay | null = null;
  try {
    // A file passed in (systemd's fd store) holds newer state than BACKUP,
    // unless it holds nothing at all: a file without a single data page is new.
    const passedIn = acquired.owned === null && !isBlank(memfd);
    if (passedIn) {
      log('the shared file was passed in and holds data; not restoring BACKUP over it');
    } else if (restoreFrom) {
      try {
        const bytes = fillFromBackup(backup.file, memfd);
        log(`restored ${bytes} bytes from ${backup.file}`);
      } catch (err) {
        if (isFsError(err) || err instanceof ShmkitError) return fail(`cannot restore from ${backup.file}: ${describe(err)}`);
        throw err;
      }
    }

    // 3. The child, and snapshots while it runs.
    try {
      if (o.notify === 'relay') relay = NotifyRelay.open({ log });
    } catch (err) {
      if (err instanceof ShmkitError) return fail(`cannot relay the child's readiness: ${err.message} (${err.code}); --notify pass hands it NOTIFY_SOCKET instead`);
      throw err;
    }
    const child = spawnWithFds({ command: cmd, args, fds: acquired.fds, env: { ...relay?.childEnv(), ...listenEnv(acquired.names) }, pidVars: relay?.childPidVars() });
    const exited = supervise(child);
    let done = false;
    const pacer = new Pacer();
    exited.then(
      () => ((done = true), pacer.wake()),
      () => ((done = true), pacer.wake()),
    );
    if (o.snapshot === 'restore-v1') {
      // The child writes what these lines report: at most one per code a second.
      const limiter = new LogLimiter();
      const note = (key: string, msg: string) => {
        const d = limiter.allow(key);
        if (d.log) log(d.dropped > 0 ? `${msg} (${d.dropped} similar suppressed)` : msg);
      };
      let lastReason = '';
      for (;;) {
        // Paced, not polled: sleep an interval or until the child exits.
        await pacer.sleep(o.intervalMs);
        if (done) break;
        try {
          const started = process.hrtime.bigint();
          const r = snapshotCycle(memfd, backup, state, log);
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          debug(r.written ? `snapshot written in ${ms.toFixed(1)} ms: ${r.kept} entries, stream end ${r.newestEnd}, ${r.fileBytes} bytes` : `no snapshot (${ms.toFixed(1)} ms): ${r.reason}`);
          if (!r.written && r.reason !== lastReason && !BENIGN.test(r.reason)) note(r.code ?? r.reason, `no snapshot, BACKUP kept: ${r.reason}`);
          lastReason = r.written ? '' : r.reason;
        } catch (err) {
          if (!(err instanceof ShmkitError) && !isFsError(err)) throw err;
          const code = (err as { code?: string }).code ?? 'error';
          note(code, `snapshot failed, BACKUP unchanged: ${describe(err)} (${code})`);
        }
      }
    }
    let result: ChildExit;
    try {
      result = await exited;
    } catch (err) {
      return fail(`cannot run ${cmd}: ${describe(err)}`);
    }

    // 4. Final write-back: the file is at rest now.
    try {
      if (o.snapshot === 'restore-v1') {
        const r = snapshotCycle(memfd, backup, state, log);
        log(r.written ? `wrote the final state to ${backup.file} (${r.kept} entries)` : `BACKUP kept as it was: ${r.reason}`);
      } else if (writeBack(memfd, backup)) {
        log(`wrote the final state to ${backup.file}`);
      } else {
        log('the shared file is empty; BACKUP kept as it was');
      }
    } catch (err) {
      if (!(err instanceof ShmkitError) && !isFsError(err)) throw err;
      const lost = acquired.owned !== null ? 'this run\'s final state is lost' : 'the passed-in shared file still holds the final state';
      io.err(`shm-restore: could not write ${backup.file}; it still holds the previous version (${lost}): ${describe(err)}\n`);
      return result.status !== 0 ? result.status : 1;
    }
    return result.status;
  } finally {
    relay?.close();
    acquired.owned?.close();
  }
}

function isBlank(fd: number): boolean {
  const size = sys.fstat(fd).size;
  return size === 0 || sys.dataExtents(fd, 0, size).length === 0;
}

/** Sleeps that end early when woken, holding one timer at a time. */
class Pacer {
  #wake: (() => void) | null = null;
  #woken = false;

  sleep(ms: number): Promise<void> {
    if (this.#woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }
}
