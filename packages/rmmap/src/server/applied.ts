/**
 * A session's write-dedupe table (PROTOCOL.md §6): request id → the file
 * version the write produced. Shared by the live server and the journal
 * replay, so a table rebuilt after a restart is the one the server had.
 */
export type AppliedTable = Map<number, number>;

/** Entries kept per session; beyond this the oldest is dropped (§8). */
export const MAX_APPLIED = 1 << 20;

/** Forgets entries below the client's low water: it no longer awaits them (§6). */
export function pruneApplied(applied: AppliedTable, lowWater: number): void {
  // Entries are inserted in increasing request-id order, so the oldest come first.
  for (const key of applied.keys()) {
    if (key >= lowWater) return;
    applied.delete(key);
  }
}

/** Records an applied write, dropping the oldest entry past MAX_APPLIED. */
export function recordApplied(applied: AppliedTable, requestId: number, version: number): void {
  applied.set(requestId, version);
  if (applied.size > MAX_APPLIED) {
    const oldest = applied.keys().next();
    if (oldest.done !== true) applied.delete(oldest.value);
  }
}
