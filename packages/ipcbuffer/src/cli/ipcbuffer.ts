import { formatSize, isRuntimeError, packageVersion, parseCommandLine, runCommandSync, stdio, UsageError, type Io } from '@shmkit/kit/cli';

import { listObjects, parseTarget, removeObject, type ObjectInfo } from '../objects';
import { entries, registryDir } from '../registry';
import { hexKey } from '../sysv';

export const USAGE = `Usage: ipcbuffer <command> [options]

Lists and removes the shared-memory objects created through @shmkit/ipcbuffer
(POSIX shm names, System V segments, files). They outlive their creator until
removed; this is how you find and remove the ones nobody uses any more.

Commands:
  ls [--json]        list objects: kind, name/key/path, size, creator pid, alive or dead
  rm <object>...     remove objects ipcbuffer created as this user: "/name" or "*name"
                     (POSIX shm), a key such as 1234 or 0x4d2 (System V), or the path
                     of a file ipcbuffer created
  rm --force <object>...
                     also remove POSIX and System V objects ipcbuffer has no record of
                     (still only this user's own; root: anyone's). Files never.
  rm --dead          remove every listed object whose creator process has exited
  help               show this text

Options:
  -h, --help         show this text
  -V, --version      print the version

Registry: ${'$'}SHMKIT_IPCBUFFER_REGISTRY, else ${'$'}XDG_RUNTIME_DIR/shmkit-ipcbuffer,
else /dev/shm/shmkit-ipcbuffer-<uid> (0700, one 0600 record per object).

Exit status: 0 success, 1 an object could not be removed, 2 usage error.
`;

function describe(o: ObjectInfo): string {
  return o.kind === 'sysv' ? `${o.id} (${hexKey(Number(o.id))})` : o.id;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

export const LS_OPTIONS = { json: { type: 'boolean' } } as const;
export const RM_OPTIONS = { force: { type: 'boolean' }, dead: { type: 'boolean' } } as const;

function ls(args: string[], io: Io): number {
  const { values, operands } = parseCommandLine(args, { options: LS_OPTIONS });
  const json = values.json === true;
  if (operands.length > 0) throw new UsageError(`ls takes no argument ${JSON.stringify(operands[0])}; try: ipcbuffer ls [--json]`);
  const objects = listObjects();
  if (json) {
    io.out(`${JSON.stringify(objects.map((o) => ({ kind: o.kind, id: o.id, size: o.currentSize, pid: o.pid, alive: o.alive, created: new Date(o.created).toISOString(), ...(o.attached === undefined ? {} : { attached: o.attached }) })), null, 2)}\n`);
    return 0;
  }
  if (objects.length === 0) {
    io.out(`no objects (registry ${registryDir()})\n`);
    return 0;
  }
  const rows = [['KIND', 'SIZE', 'PID', 'CREATOR', 'ATTACHED', 'OBJECT']];
  for (const o of objects) {
    rows.push([o.kind, formatSize(o.currentSize), String(o.pid), o.alive ? 'alive' : 'dead', o.attached === undefined ? '-' : String(o.attached), describe(o)]);
  }
  io.out(table(rows));
  return 0;
}

function rm(args: string[], io: Io): number {
  if (args.length === 0) throw new UsageError('rm needs the objects to remove, e.g. ipcbuffer rm /name 0x4d2, or --dead');
  const { values, operands } = parseCommandLine(args, { options: RM_OPTIONS, negativeNumbers: true });
  const registered = entries();
  let targets: string[];
  const force = values.force === true;
  if (values.dead === true) {
    if (args.length > 1) throw new UsageError('rm --dead takes no other argument');
    targets = listObjects().filter((o) => !o.alive).map((o) => (o.kind === 'posix' ? `*${o.id}` : o.id));
    if (targets.length === 0) io.out('no objects of dead creators\n');
  } else {
    targets = operands;
    if (targets.length === 0) throw new UsageError('rm --force needs the objects to remove, e.g. ipcbuffer rm --force /name');
  }
  let status = 0;
  for (const arg of targets) {
    try {
      io.out(`removed ${removeObject(parseTarget(arg, registered), registered, { force })}\n`);
    } catch (err) {
      if (!isRuntimeError(err)) throw err;
      io.err(`ipcbuffer: cannot remove ${arg}: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}

/** Runs the CLI; returns the exit status. User errors are printed without stack traces. */
export function main(argv: string[], io: Io = stdio): number {
  const info = { name: 'ipcbuffer', version: packageVersion('@shmkit/ipcbuffer', __dirname), help: USAGE };
  return runCommandSync(info, () => dispatch(argv, io), io);
}

function dispatch(argv: string[], io: Io): number {
  const [cmd, ...rest] = parseCommandLine(argv, { options: {}, operands: 'stop' }).operands;
  switch (cmd) {
    case 'ls':
      return ls(rest, io);
    case 'rm':
      return rm(rest, io);
    case 'help':
      io.out(USAGE);
      return 0;
    case undefined:
      throw new UsageError('a command is required (ls, rm or help)');
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)} (expected ls, rm or help)`);
  }
}
