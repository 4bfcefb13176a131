import * as sys from '@shmkit/shm-fd/sys';

import { ShmStateError } from './errors';

export type WaitResult = sys.FutexWaitResult;

/**
 * Blocking wait/wake on one shared int32, for memory of either kind a
 * structure can live in: a shmkit mapping (futex(2), works across processes)
 * or a SharedArrayBuffer (Atomics.wait, works across threads of one process).
 */
export interface FutexWord {
  /** 'mapped': a shmkit mapping (other processes may wait); 'sab'; 'plain': no blocking waits possible. */
  readonly kind: 'mapped' | 'sab' | 'plain';
  wait(expected: number, timeoutMs: number): WaitResult;
  wake(count: number): void;
}

export function futexWord(view: Int32Array, index: number): FutexWord {
  if (typeof SharedArrayBuffer !== 'undefined' && view.buffer instanceof SharedArrayBuffer) {
    return {
      kind: 'sab',
      wait: (expected, timeoutMs) => Atomics.wait(view, index, expected, timeoutMs),
      wake: (count) => void Atomics.notify(view, index, count),
    };
  }
  let mapped = true;
  try {
    sys.addressOf(view, index);
  } catch {
    mapped = false;
  }
  if (!mapped) {
    return {
      kind: 'plain',
      wait: () => {
        throw new ShmStateError(
          'ERR_SHM_STATE_NO_FUTEX',
          'blocking waits need memory from a shmkit mapping (SharedFd.map, sys.map) or a SharedArrayBuffer; use the try… forms on other memory',
        );
      },
      // Nobody can be asleep on memory no one can futex-wait on.
      wake: () => undefined,
    };
  }
  return {
    kind: 'mapped',
    wait: (expected, timeoutMs) => sys.futexWait(view, index, expected, timeoutMs),
    wake: (count) => void sys.futexWake(view, index, count),
  };
}
