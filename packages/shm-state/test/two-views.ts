import { SharedFd } from '@shmkit/shm-fd';
import type * as sys from '@shmkit/shm-fd/sys';

/**
 * One memfd mapped twice: `ours` is what the structure under test uses,
 * `peer` is a second mapping of the same pages, through which a test writes
 * the words a hostile process would.
 */
export interface TwoViews {
  ours: sys.Mapping;
  peer: sys.Mapping;
  /** Writes an int32 at byte `at` through the peer's mapping. */
  poke(at: number, value: number): void;
  close(): void;
}

export function twoViews(size: number): TwoViews {
  const fd = SharedFd.create({ size });
  const ours = fd.map();
  const peer = fd.map();
  const words = new Int32Array(peer.buffer.buffer, peer.buffer.byteOffset, Math.floor(size / 4));
  return {
    ours,
    peer,
    poke: (at, value) => void Atomics.store(words, at >>> 2, value),
    close: () => {
      ours.close();
      peer.close();
      fd.close();
    },
  };
}

/** Runs `fn`, returning what it threw (or fails the test when it returned). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}
