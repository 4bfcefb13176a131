// What a bench starts, killed and removed when it exits (also on Ctrl-C).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

const doomedDirs = new Set<string>();
const doomedChildren = new Set<ChildProcess>();
let cleanupArmed = false;

/**
 * At exit, also on Ctrl-C or SIGTERM, kills what the bench started and
 * removes its files: a bench stopped halfway would leave both behind
 * (hundreds of MiB, in /var/tmp, which outlives a reboot).
 */
function armCleanup(): void {
  if (cleanupArmed) return;
  cleanupArmed = true;
  process.once('exit', () => {
    for (const c of doomedChildren) c.kill('SIGKILL');
    for (const d of doomedDirs) fs.rmSync(d, { recursive: true, force: true });
  });
  // exit() runs the 'exit' handler above; 128 + the signal's number, as a shell reports it.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

/** `dir`, removed with everything in it when the process exits. */
export function removedAtExit(dir: string): string {
  armCleanup();
  doomedDirs.add(dir);
  return dir;
}

/** `child`, killed when the process exits (a child that ended first is forgotten). */
export function killedAtExit<T extends ChildProcess>(child: T): T {
  armCleanup();
  doomedChildren.add(child);
  child.once('exit', () => doomedChildren.delete(child));
  return child;
}
