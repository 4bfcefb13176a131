import { SystemError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { fromMapping, type IPCBuffer } from './buffer';
import { argType, badValue, IPCBufferError, outOfRange, withHint } from './errors';
import { forget, record } from './registry';
import { checkLength, checkMappable, checkMode } from './validate';
import { segmentOwners } from './sysv-creator';

const C = sys.constants;

export interface SysvOptions {
  /** Create the segment when no segment has this key (default true; needs a length). */
  create?: boolean;
  /** Fail with EEXIST when a segment with this key exists. */
  exclusive?: boolean;
  /** Permission bits of a created segment (default 0o600). */
  mode?: number;
  /** @internal encoding recorded by the IPCBuffer() forms. */
  encoding?: BufferEncoding;
}

/** Keys are key_t (a C int); the unsigned spelling ftok(3) and ipcs(1) use is accepted too. */
export function sysvKey(key: unknown): number {
  if (typeof key !== 'number') throw argType('System V key', 'a number', key);
  if (!Number.isInteger(key) || key < -0x80000000 || key > 0xffffffff) throw outOfRange(`System V key must be an integer in [-2^31, 2^32), got ${key}`);
  if (key === 0) throw outOfRange('System V key 0 is IPC_PRIVATE, which other processes cannot open; use a non-zero key (e.g. from ftok)');
  return key;
}

export const hexKey = (key: number) => `0x${(key >>> 0).toString(16).padStart(8, '0')}`;

const hints = (key: number) => ({
  ENOENT: `no System V segment has key ${hexKey(key)}; pass a length to create it, or list segments with \`ipcs -m\` / \`ipcbuffer ls\``,
  EACCES: `System V segment ${hexKey(key)} belongs to another user or its mode forbids read-write access; run as its owner or have it recreated with a wider mode`,
  EEXIST: `a System V segment with key ${hexKey(key)} already exists and { exclusive: true } was given; remove it with IPCBuffer.removeSysv(key) or \`ipcbuffer rm ${key}\``,
  ENOSPC: 'the system limit on System V segments (kernel.shmmni) or total shared memory (kernel.shmall) is reached; remove unused segments (ipcs -m, ipcrm) or raise the limits',
  ENOMEM: 'not enough memory for the System V segment; use a smaller length',
  EIDRM: `System V segment ${hexKey(key)} was removed meanwhile; open it again to create a new one`,
  EPERM: `System V segment ${hexKey(key)} belongs to another user; only its owner, its creator or root can remove it`,
});

/**
 * Keys are one namespace for all users, so a segment that exists under our
 * key may be someone else's, made to read or change what we put in it.
 * Like the owned-path rule for files: it must be owned and created by us,
 * and nobody else may write it.
 */
function checkOwnedSegment(key: number, st: sys.SysvStat): void {
  const uid = process.geteuid?.() ?? 0;
  const creator = segmentOwners(st.id)?.cuid;
  const problem = st.uid !== uid ? `is owned by uid ${st.uid}`
    : creator !== undefined && creator !== uid ? `was created by uid ${creator}`
    : (st.mode & 0o022) !== 0 ? `has mode 0${st.mode.toString(8)}, which lets other users write it`
    : undefined;
  if (problem !== undefined) {
    throw new IPCBufferError(
      'ERR_SHM_UNSAFE_PATH',
      `System V segment ${hexKey(key)} ${problem}, not private to this process (uid ${uid}); use another key, or have its owner remove it (ipcrm -M ${hexKey(key)})`,
    );
  }
}

/**
 * Opens or creates the System V segment with `key` and attaches `length`
 * bytes (default: the whole segment). Unlike POSIX objects a segment cannot
 * grow: an existing smaller one fails with EINVAL. It outlives every process
 * until IPCBuffer.removeSysv(key).
 */
export function openSysv(keyIn: unknown, lengthIn?: unknown, options: SysvOptions = {}): IPCBuffer {
  const key = sysvKey(keyIn);
  const length = lengthIn === undefined ? undefined : checkLength(lengthIn);
  const mode = checkMode(options.mode);
  const exclusive = options.exclusive === true;
  const mayCreate = (options.create ?? true) && length !== undefined;
  if (exclusive && length === undefined) throw badValue('{ exclusive: true } creates the segment, so a length is required');
  if (length !== undefined) {
    const max = sys.sysvMaxSize();
    if (length > max) throw outOfRange(`length ${length} is larger than the kernel's System V segment limit kernel.shmmax (${max} bytes); raise it with sysctl or use POSIX shared memory`);
  }
  const h = hints(key);
  let id = -1;
  let created = false;
  for (let attempt = 0; id < 0; attempt++) {
    if (mayCreate) {
      try {
        id = sys.shmget(key, length, C.IPC_CREAT | C.IPC_EXCL | mode);
        created = true;
        break;
      } catch (err) {
        if (!(err instanceof SystemError && err.code === 'EEXIST') || exclusive) withHint(err, h);
      }
    }
    try {
      // Size 0 finds a segment of any size; the size check below gives the better message.
      id = sys.shmget(key, 0, 0);
    } catch (err) {
      if (!(mayCreate && attempt < 3 && err instanceof SystemError && err.code === 'ENOENT')) withHint(err, h);
    }
  }
  let mapping: sys.Mapping;
  try {
    const st = sys.sysvStat(id);
    if (!created) checkOwnedSegment(key, st);
    if (length === undefined) checkMappable(st.size, `System V segment ${hexKey(key)}`);
    if (length !== undefined && st.size < length) {
      throw new SystemError(
        22,
        'shmget',
        `System V segment ${hexKey(key)} exists with ${st.size} bytes, fewer than the ${length} asked for; segments cannot grow: pass a length ≤ ${st.size}, or remove it (IPCBuffer.removeSysv(${key}) or \`ipcbuffer rm ${key}\`) and create it again`,
      );
    }
    mapping = sys.sysvAttach(id, length === undefined ? {} : { length });
  } catch (err) {
    if (created) {
      try {
        sys.sysvRemove(id);
      } catch {
        // the error that got us here is the one to report
      }
    }
    withHint(err, h);
  }
  if (created) record('sysv', String(key), mapping.length);
  return fromMapping({ kind: 'sysv', mapping, created, key, id, ...(options.encoding === undefined ? {} : { encoding: options.encoding }) });
}

/** The id of the segment with `key`; ENOENT says there is nothing to remove. */
export function segmentId(key: number): number {
  try {
    return sys.shmget(key, 0, 0);
  } catch (err) {
    withHint(err, { ...hints(key), ENOENT: `no System V segment has key ${hexKey(key)}, so there is nothing to remove; list segments with \`ipcs -m\` or \`ipcbuffer ls\`` });
  }
}

/**
 * Marks the segment with `key` for removal (IPC_RMID): the key is free at
 * once; attached processes keep their memory until they detach (close()).
 */
export function removeSysv(keyIn: unknown): void {
  const key = sysvKey(keyIn);
  const id = segmentId(key);
  try {
    sys.sysvRemove(id);
  } catch (err) {
    withHint(err, hints(key));
  }
  forget('sysv', String(key));
}
