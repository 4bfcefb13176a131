// Functions of a C library other than libc, called through the same ffi layer
// (ffi-rs) as the libc wrappers. Arguments are integers or addresses (plain
// numbers, as in libc.ts): callers pass mapped memory by addressOf(), so a
// library can read and write shared segments without a copy.
import { DataType, load, open } from 'ffi-rs';

import { ShmArgumentError } from '../errors';

export type ForeignType = 'i32' | 'i64';

export interface ForeignLibrary {
  /** The path it was opened from (a name the dynamic linker resolves, or an absolute path). */
  readonly path: string;
  /** A caller of `name`, which takes `params` and returns `ret`. A missing symbol throws at the first call. */
  func(name: string, ret: ForeignType, params: ForeignType[]): (...args: number[]) => number;
}

const TYPES: Record<ForeignType, DataType> = { i32: DataType.I32, i64: DataType.I64 };
const opened = new Map<string, ForeignLibrary>();

/**
 * Opens a shared library (dlopen). Throws ERR_DLOPEN, naming the path and
 * the linker's reason, when it cannot be loaded. One handle per path and thread.
 */
export function openForeignLibrary(path: string): ForeignLibrary {
  const known = opened.get(path);
  if (known !== undefined) return known;
  const key = `foreign:${path}`;
  try {
    open({ library: key, path });
  } catch (err) {
    const why = (err as Error).message;
    throw new ShmArgumentError('ERR_DLOPEN', why.includes(path) ? why : `cannot load ${path}: ${why}`);
  }
  const lib: ForeignLibrary = {
    path,
    func(name, ret, params) {
      const retType = TYPES[ret];
      const paramsType = params.map((p) => TYPES[p]);
      // ffi-rs resolves the symbol at the first call: a missing one throws there.
      return (...paramsValue: number[]) => load({ library: key, funcName: name, retType, paramsType, paramsValue }) as unknown as number;
    },
  };
  opened.set(path, lib);
  return lib;
}
