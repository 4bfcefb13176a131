import { ShmArgumentError, ShmClosedError, ShmkitError, SystemError } from './errors';
import type { ShmFdCode } from './codes';
import { listenFds, SHM_SHARED_FD, type ListenFdsOptions } from './listen-fds';
import * as sys from './sys';
import { constants as C } from './sys';

export type SealName = 'seal' | 'shrink' | 'grow' | 'write' | 'future-write';

const SEALS: Record<SealName, number> = {
  seal: C.F_SEAL_SEAL,
  shrink: C.F_SEAL_SHRINK,
  grow: C.F_SEAL_GROW,
  write: C.F_SEAL_WRITE,
  'future-write': C.F_SEAL_FUTURE_WRITE,
};

export interface FromEnvOptions extends ListenFdsOptions {
  /** The LISTEN_FDNAMES entry to look for; default SHM_SHARED_FD. */
  name?: string;
  /** Check that the fd is a memfd or tmpfs file, as the Rust consumer does (default true). */
  validate?: boolean;
}

export interface CreateOptions {
  /** The memfd's name, shown in /proc/PID/fd; default "persistent". */
  name?: string;
  /** Initial size in bytes; default 0 (the user sizes it). */
  size?: number;
  /** Allow seals to be added later; default true. */
  sealable?: boolean;
}

export interface OpenOptions {
  create?: boolean;
  exclusive?: boolean;
  /** Permission bits for a created file; default 0o600. */
  mode?: number;
  /** Grow a smaller file to this size. */
  size?: number;
  readOnly?: boolean;
}

/**
 * An fd onto a shared-memory file. The SharedFd owns its fd: close() closes
 * it, after closing every mapping made through it (children before parents).
 */
export class SharedFd implements Disposable {
  #fd: number;
  readonly #mappings = new Set<sys.Mapping>();

  /** Takes ownership of `fd`. */
  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `not a file descriptor: ${fd}`);
    this.#fd = fd;
  }

  /**
   * The shared file passed in LISTEN_FDS under SHM_SHARED_FD, or null when
   * this process was not given one.
   */
  static fromEnv(options: FromEnvOptions = {}): SharedFd | null {
    const fds = listenFds(options);
    const wanted = options.name ?? SHM_SHARED_FD;
    const entry = fds?.find((f) => f.name === wanted);
    if (entry === undefined) return null;
    validateSharedFd(entry.fd, `LISTEN_FDNAMES names ${wanted} at fd ${entry.fd}`, options.validate ?? true);
    // sd_listen_fds marks passed fds close-on-exec, so our own children do not inherit them.
    sys.setCloexec(entry.fd, true);
    return new SharedFd(entry.fd);
  }

  /** A new memfd (sealable unless told otherwise). */
  static create(options: CreateOptions = {}): SharedFd {
    const flags = C.MFD_CLOEXEC | (options.sealable === false ? 0 : C.MFD_ALLOW_SEALING);
    const fd = sys.memfdCreate(options.name ?? 'persistent', flags);
    const shared = new SharedFd(fd);
    if (options.size !== undefined && options.size > 0) {
      try {
        shared.resize(options.size);
      } catch (err) {
        shared.close();
        throw err;
      }
    }
    return shared;
  }

  /**
   * Opens (or creates) POSIX shared memory "/name". It must be ours: one
   * that another user made, or can write, is refused (ERR_SHM_UNSAFE_PATH).
   */
  static openShm(name: string, options: OpenOptions = {}): SharedFd {
    const fd = sys.openOwnedShm(name, ownedOptions(options));
    return SharedFd.#sized(fd, options);
  }

  /**
   * Opens (or creates) a file; on tmpfs (/dev/shm) it is shared memory that
   * outlives the process. Never through a symlink, and never a file another
   * user owns or can write (ERR_SHM_UNSAFE_PATH).
   */
  static openFile(path: string, options: OpenOptions = {}): SharedFd {
    const fd = sys.openOwnedFile(path, ownedOptions(options));
    return SharedFd.#sized(fd, options);
  }

  static #sized(fd: number, options: OpenOptions): SharedFd {
    const shared = new SharedFd(fd);
    try {
      if (options.size !== undefined && shared.size < options.size) shared.resize(options.size);
    } catch (err) {
      shared.close();
      throw err;
    }
    return shared;
  }

  get fd(): number {
    if (this.#fd < 0) throw new ShmClosedError('the shared fd');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Current size of the file in bytes. */
  get size(): number {
    return sys.fstat(this.fd).size;
  }

  /**
   * Sets the file's size. Growing is always allowed (unless sealed);
   * shrinking below a live mapping of this SharedFd is refused, because
   * touching the cut pages would kill the process with SIGBUS.
   */
  resize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0) throw new ShmArgumentError('ERR_OUT_OF_RANGE', `size must be a non-negative integer, got ${size}`);
    for (const m of this.#mappings) {
      if (m.offset + m.length > size) {
        throw new ShmkitError<ShmFdCode>(
          'ERR_SHM_MAPPED',
          `cannot shrink to ${size} bytes: a live mapping covers [${m.offset}, ${m.offset + m.length}); close it first`,
        );
      }
    }
    sys.ftruncate(this.fd, size);
  }

  /** Adds seals (memfd only): e.g. seal('shrink') so no process can cut live mappings. */
  seal(...seals: SealName[]): void {
    let bits = 0;
    for (const s of seals) {
      const bit = SEALS[s];
      if (bit === undefined) throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', `unknown seal ${JSON.stringify(s)}; use one of ${Object.keys(SEALS).join(', ')}`);
      bits |= bit;
    }
    sys.addSeals(this.fd, bits);
  }

  get seals(): SealName[] {
    const bits = sys.getSeals(this.fd);
    return (Object.keys(SEALS) as SealName[]).filter((k) => (bits & SEALS[k]) !== 0);
  }

  /** Maps part of the file; the mapping is closed with this SharedFd at the latest. */
  map(options?: sys.MapOptions): sys.Mapping {
    const m = sys.map(this.fd, options);
    this.#mappings.add(m);
    m.onClose = () => this.#mappings.delete(m);
    return m;
  }

  /** Gives up ownership of the fd without closing it. */
  release(): number {
    const fd = this.fd;
    this.#fd = -1;
    return fd;
  }

  close(): void {
    if (this.#fd < 0) return;
    for (const m of [...this.#mappings]) m.close();
    const fd = this.#fd;
    this.#fd = -1;
    sys.close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function ownedOptions(o: OpenOptions): sys.OwnedOpenOptions {
  return { write: o.readOnly !== true, create: o.create === true, exclusive: o.exclusive === true, mode: o.mode ?? 0o600 };
}

/**
 * The checks the Rust consumer makes: an open regular file on which
 * F_GET_SEALS works (a memfd or a tmpfs file; a disk file fails with EINVAL).
 */
export function validateSharedFd(fd: number, what: string, sealCheck = true): void {
  let stat;
  try {
    stat = sys.fstat(fd);
  } catch (err) {
    throw new ShmkitError<ShmFdCode>('ERR_SHM_BAD_FD', `${what}, but fd ${fd} is not open (${(err as Error).message}); check how the wrapper passes fds`, { cause: err });
  }
  if (!stat.isFile()) {
    throw new ShmkitError<ShmFdCode>('ERR_SHM_BAD_FD', `${what}, but fd ${fd} is not a regular file (memfd or tmpfs file expected)`);
  }
  if (sealCheck) {
    try {
      sys.getSeals(fd);
    } catch (err) {
      if (err instanceof SystemError && err.code === 'EINVAL') {
        throw new ShmkitError<ShmFdCode>('ERR_SHM_BAD_FD', `${what}, but fd ${fd} is not a memfd or tmpfs file (F_GET_SEALS failed); put the file on /dev/shm`, { cause: err });
      }
      throw err;
    }
  }
}
