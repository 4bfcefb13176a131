import { ShmClosedError } from '@shmkit/shm-fd';

// candidate for @shmkit/shm-fd/sys
/**
 * Whether the shmkit Mapping under a Buffer has been closed, without an ffi
 * call: the Mapping marks the ArrayBuffer it created with a symbol property
 * pointing back at itself. After close() its Buffer still addresses valid
 * (anonymous, zeroed) pages, so stale views never fault; handles use this to
 * throw ERR_SHM_CLOSED instead of answering from those zeros.
 */
export interface ClosedProbe {
  readonly closed: boolean;
}

const DESCRIPTION = 'shmkit.mapping';

/** The Mapping behind `memory`, or undefined for a SharedArrayBuffer or any other memory. */
export function mappingOf(memory: Uint8Array): ClosedProbe | undefined {
  const ab = memory.buffer as unknown as Record<symbol, unknown>;
  for (const s of Object.getOwnPropertySymbols(ab)) {
    if (s.description !== DESCRIPTION) continue;
    const m = ab[s];
    if (typeof m === 'object' && m !== null && typeof (m as ClosedProbe).closed === 'boolean') return m as ClosedProbe;
  }
  return undefined;
}

/** Throws ERR_SHM_CLOSED when `probe` says the mapping under `what` was closed. */
export function checkMapped(probe: ClosedProbe | undefined, what: string): void {
  if (probe !== undefined && probe.closed) throw new ShmClosedError(`the mapping under this ${what}`);
}
