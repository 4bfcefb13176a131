// Where the two processes of a latency row run: on a 2-vCPU VM a round trip
// costs ~10 µs when both share a core and ~65 µs when they sit on two (an
// idle vCPU must wake), and the scheduler decides which. So every latency row
// is measured three ways, pinned with taskset(1) (all threads of each process).
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export type Placement = 'one core' | 'two cores' | 'unpinned';

export function placements(): Placement[] {
  return os.cpus().length >= 2 ? ['one core', 'two cores', 'unpinned'] : ['unpinned'];
}

/** The CPU lists for (this process, the peer), or undefined for either: not pinned. */
export function cpusFor(p: Placement): [string | undefined, string | undefined] {
  if (p === 'one core') return ['0', '0'];
  if (p === 'two cores') return ['0', '1'];
  return [undefined, undefined];
}

/** Pins every thread of this process to `cpus` (or back to every CPU). */
export function pinSelf(cpus: string | undefined): void {
  const list = cpus ?? `0-${os.cpus().length - 1}`;
  execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' });
}
