import { ShmStateError } from './errors';

/** Options of the queues' `batches()` (`for await (const batch of q)`). */
export interface BatchOptions {
  /** Most messages in one batch. Default 4096. */
  maxMessages?: number;
  /** Ends the iteration with an AbortError (code `ABORT_ERR`). */
  signal?: AbortSignal;
  /** Microseconds to re-check before sleeping on an empty queue (see `WaitOptions.spinUs`). */
  spinUs?: number;
}

/** Messages per batch unless told otherwise. */
const DEFAULT_BATCH = 4096;

/** `maxMessages`, checked, or the default. */
export function batchSize(options: BatchOptions): number {
  const max = options.maxMessages ?? DEFAULT_BATCH;
  if (!Number.isSafeInteger(max) || max < 1) throw new ShmStateError('ERR_OUT_OF_RANGE', `maxMessages must be a positive integer, got ${max}`);
  return max;
}

/** True for the ERR_SHM_CLOSED a wait rejects with when its handle is closed. */
export function isClosedError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_SHM_CLOSED';
}
