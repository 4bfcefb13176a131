import * as C from './constants';
import { libc } from './libc';
import { check } from './calls';

/**
 * A private page of native memory whose address is known, for building the C
 * structs (msghdr, timespec, pollfd, sockaddr) that syscalls take by pointer.
 *
 * Invariant: it is used only synchronously between two ffi calls on this
 * thread, so one page per thread (module instance) is never shared.
 */
export interface Scratch {
  readonly addr: number;
  readonly buf: Buffer;
}

const SIZE = 64 * 1024;
let scratch: Scratch | undefined;

export function getScratch(): Scratch {
  if (scratch === undefined) {
    const addr = check(
      libc().mmap(0, SIZE, C.PROT_READ | C.PROT_WRITE, C.MAP_PRIVATE | C.MAP_ANONYMOUS, -1, 0),
      'mmap',
      'allocating the scratch page for syscall arguments',
    );
    scratch = { addr, buf: libc().externalBuffer(addr, SIZE) };
  }
  return scratch;
}

export const SCRATCH_SIZE = SIZE;
