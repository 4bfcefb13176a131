/**
 * The descriptor of one committed payload: entry slot `slot` says the
 * payload is stream bytes [offset, offset + length). Two observations of the
 * same descriptor certify that its bytes did not change in between, because
 * every overwrite is preceded by invalidating the entry and stream offsets
 * only grow.
 */
export interface Snapshot {
  readonly slot: number;
  readonly offset: number;
  readonly length: number;
}

/** How a file is laid out, as configure() takes it and recover() finds it. */
export interface Configuration {
  /** Entry slots, a power of two. */
  readonly entries: number;
  /** Bytes in the data ring, a power of two; a payload holds at most dataBytes − 1. */
  readonly dataBytes: number;
}

/** A recovered configuration: also where writing continues. */
export interface RecoveredConfiguration extends Configuration {
  /** Stream position of the next byte to write (page_write_offset). */
  readonly writeOffset: number;
}

/** Which snapshots retain() keeps: a list (matched by slot, offset and length) or a predicate. */
export type RetainSet = Iterable<Snapshot> | ((s: Snapshot) => boolean);

/** A stable string key for a Snapshot, for Sets and Maps. */
export function snapshotKey(s: Snapshot): string {
  return `${s.slot}:${s.offset}:${s.length}`;
}

export function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return a.slot === b.slot && a.offset === b.offset && a.length === b.length;
}

export function toPredicate(keep: RetainSet): (s: Snapshot) => boolean {
  if (typeof keep === 'function') return keep;
  const keys = new Set<string>();
  for (const s of keep) keys.add(snapshotKey(s));
  return (s) => keys.has(snapshotKey(s));
}
