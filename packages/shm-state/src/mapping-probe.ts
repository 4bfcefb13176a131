import { Mapping, ShmClosedError } from '@shmkit/shm-fd';

/**
 * Whether the shmkit Mapping under a Buffer has been closed, without an ffi
 * call (Mapping.of). After close() its Buffer still addresses valid
 * (anonymous, zeroed) pages, so stale views never fault; handles use this to
 * throw ERR_SHM_CLOSED instead of answering from those zeros.
 */
export interface ClosedProbe {
  readonly closed: boolean;
}

/** The Mapping behind `memory`, or undefined for a SharedArrayBuffer or any other memory. */
export function mappingOf(memory: Uint8Array): ClosedProbe | undefined {
  return Mapping.of(memory);
}

/** Throws ERR_SHM_CLOSED when `probe` says the mapping under `what` was closed. */
export function checkMapped(probe: ClosedProbe | undefined, what: string): void {
  if (probe !== undefined && probe.closed) throw new ShmClosedError(`the mapping under this ${what}`);
}
