// Who initialises a fresh structure when several processes open it at once.
import * as sys from '@shmkit/shm-fd/sys';

import { ShmStateError } from './errors';

/** How long a process waits for another, live one to finish creating a structure. */
export const CREATE_WAIT_MS = 5000;

/** Where a structure's header keeps the creator's pid and the word that turns nonzero once it is initialised. */
export interface CreationWords {
  /** Index of the word the creator writes its pid into. */
  creator: number;
  /** Index of the word written last by the creator, and the value it then holds. */
  ready: number;
  readyValue: number;
}

/**
 * Decides whether this process initialises the structure whose header `h`
 * is still all zeros. The first to write its pid into the creator word does
 * ('create'); the others wait for the ready word ('exists': open it). A
 * creator killed half-way never sets the ready word and its pid is then
 * dead: the first waiter to notice takes the creation over. The creator word
 * is shared memory, so a live pid left there for good fails the wait with
 * ETIMEDOUT after CREATE_WAIT_MS instead of holding us forever.
 *
 * `doing` completes "pid N has been …" in that error; `pause` is how a waiter
 * waits between looks.
 */
export function claimCreation(h: Int32Array, w: CreationWords, doing: string, pause: () => void): 'create' | 'exists' {
  const me = process.pid;
  for (;;) {
    const creator = Atomics.compareExchange(h, w.creator, 0, me);
    if (creator === 0) return 'create';
    const deadline = performance.now() + CREATE_WAIT_MS;
    while (Atomics.load(h, w.ready) !== w.readyValue && Atomics.load(h, w.creator) === creator && sys.processAlive(creator)) {
      if (performance.now() > deadline) {
        throw new ShmStateError('ETIMEDOUT', `pid ${creator} has been ${doing} for ${CREATE_WAIT_MS} ms; it is stuck, or something else wrote that word`);
      }
      pause();
    }
    if (Atomics.load(h, w.ready) === w.readyValue) return 'exists';
    if (Atomics.compareExchange(h, w.creator, creator, me) === creator) return 'create';
  }
}
