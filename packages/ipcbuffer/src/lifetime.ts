import * as sys from '@shmkit/shm-fd/sys';

/**
 * Process-wide bookkeeping that outlives single buffers: the exit flush for
 * file-backed mappings and the leak backstop for owned fds.
 */

// WeakRefs only: being registered for the exit flush must not keep a buffer
// alive (pino:lib/transport.js setupOnExit, mcollina/on-exit-leak-free).
const flushOnExit = new Set<WeakRef<sys.Mapping>>();
let hooked = false;

function flushAll(): void {
  for (const ref of flushOnExit) {
    const m = ref.deref();
    if (m === undefined || m.closed) continue;
    try {
      m.sync();
    } catch {
      // Exit must not throw; the kernel still writes dirty pages back later.
    }
  }
  flushOnExit.clear();
}

/** Flushes `m` (msync) when the process exits normally; returns the handle to forget it. */
export function syncAtExit(m: sys.Mapping): WeakRef<sys.Mapping> {
  if (!hooked) {
    process.on('exit', flushAll);
    hooked = true;
  }
  const ref = new WeakRef(m);
  flushOnExit.add(ref);
  return ref;
}

export function forgetAtExit(ref: WeakRef<sys.Mapping> | undefined): void {
  if (ref !== undefined) flushOnExit.delete(ref);
}

// Backstop only: an IPCBuffer owning an fd that is collected
// without close() closes the fd and reports the leak.
const fds = new FinalizationRegistry<{ fd: number; label: string }>((held) => {
  process.emitWarning(`${held.label} was garbage-collected without close(); call close() or use Symbol.dispose`, { code: 'SHM_LEAK' });
  try {
    sys.close(held.fd);
  } catch {
    // a finalizer has nobody to report to
  }
});

export function watchFd(owner: object, fd: number, label: string, token: object): void {
  fds.register(owner, { fd, label }, token);
}

export function unwatchFd(token: object): void {
  fds.unregister(token);
}
