import type { Notifier, SyncWaitOptions, WaitOptions } from './notifier';

/**
 * How often a waiting locker checks whether holders are still alive: a dead
 * holder never notifies, so waiters must look. Checking `/proc`-backed
 * liveness on every wake-up would be wasteful; every 20 ms bounds both the
 * cost and how long a dead holder blocks others.
 */
export const LIVENESS_MS = 20;

/** `attempt(checkOwners)` tries to acquire; `undefined` means "not yet". */
type Attempt<T> = (checkOwners: boolean) => T | undefined;

/**
 * Blocks until `attempt` succeeds, checking holders once on entering the
 * wait and then at most every LIVENESS_MS; null on timeout.
 */
export function waitSyncCheckingOwners<T>(notifier: Notifier, attempt: Attempt<T>, options: SyncWaitOptions): T | null {
  const fast = attempt(false);
  if (fast !== undefined) return fast;
  let lastCheck = -Infinity;
  return (
    notifier.waitSync(() => {
      const now = performance.now();
      const checkOwners = now - lastCheck >= LIVENESS_MS;
      if (checkOwners) lastCheck = now;
      return attempt(checkOwners);
    }, { ...options, pollMs: LIVENESS_MS }) ?? null
  );
}

/** The event-loop form: the first attempt skips the liveness check, later ones make it. */
export async function waitCheckingOwners<T>(notifier: Notifier, attempt: Attempt<T>, options: WaitOptions): Promise<T | null> {
  let polls = 0;
  // No spinning: every attempt after the first checks holders in /proc.
  return (await notifier.wait(() => attempt(polls++ > 0), { ...options, spinUs: 0, pollMs: LIVENESS_MS })) ?? null;
}
