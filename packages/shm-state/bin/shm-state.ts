#!/usr/bin/env node
// shm-state inspect: lists the named regions of a shared file and the state
// of each structure, read-only (a private mapping: nothing is written back).

import { exitWith, packageVersion, runCommandSync } from '@shmkit/kit/cli';
import { SharedFd, ShmkitError } from '@shmkit/shm-fd';

import {
  Counter32,
  Counter64,
  HashMap,
  inspectStruct,
  Int32Cell,
  Int64Cell,
  MpmcQueue,
  Mutex,
  RegionDirectory,
  Ring,
  Semaphore,
  SpscQueue,
  type RegionInfo,
} from '../src';
import { parseInspectArgs, USAGE, type InspectArgs } from '../src/cli/inspect-args';

function open(o: InspectArgs): SharedFd {
  if (o.file !== undefined) return SharedFd.openFile(o.file);
  if (o.shm !== undefined) return SharedFd.openShm(o.shm);
  const fd = SharedFd.fromEnv();
  if (fd === null) throw new ShmkitError('ERR_SHM_STATE_NO_SHARED_FD', 'no SHM_SHARED_FD in LISTEN_FDS; run under shm-fd or use --file/--shm');
  return fd;
}

function describe(mem: Buffer, r: RegionInfo): Record<string, unknown> {
  switch (r.kind) {
    case 'bytes':
      return {};
    case 'int32':
      return { value: new Int32Cell(mem, r.offset).load() };
    case 'int64':
      return { value: new Int64Cell(mem, r.offset).load().toString() };
    case 'counter32':
      return { value: new Counter32(mem, r.offset).value };
    case 'counter64':
      return { value: new Counter64(mem, r.offset).value };
    case 'spscQueue': {
      const q = SpscQueue.open(mem, { offset: r.offset });
      return { capacity: q.capacity, bytesUsed: q.bytesUsed, next: q.peekLength() };
    }
    case 'mpmcQueue': {
      const q = MpmcQueue.open(mem, { offset: r.offset });
      return { capacity: q.capacity, slotSize: q.slotSize, length: q.length, ...q.stats() };
    }
    case 'mutex': {
      const m = Mutex.open(mem, { offset: r.offset });
      const holder = m.holder;
      return { holder, holderAlive: holder === 0 ? null : alive(holder), recoveries: m.recoveries };
    }
    case 'semaphore': {
      const s = Semaphore.open(mem, { offset: r.offset });
      return { permits: s.permits, available: s.available, recoveries: s.recoveries };
    }
    case 'hashMap': {
      const h = HashMap.open(mem, { offset: r.offset });
      return { capacity: h.capacity, keySize: h.keySize, valueSize: h.valueSize, ...h.stats() };
    }
    case 'ring':
    case 'seq': {
      const ring = Ring.open(mem, { offset: r.offset });
      const frozen = ring.frozen();
      const newest = frozen.reduce<(typeof frozen)[number] | undefined>((a, f) => (a === undefined || f.seq > a.seq ? f : a), undefined);
      return { descriptors: ring.count, frozen: frozen.length, newest: newest?.descriptor ?? null };
    }
    case 'struct': {
      const s = inspectStruct(mem, r.offset);
      return { layoutVersion: s.version, data: s.data };
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function show(value: unknown): string {
  // Buffers reach a replacer already turned into { type: 'Buffer', data }.
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    const b = v as { type?: unknown; data?: unknown } | null;
    if (b !== null && typeof b === 'object' && b.type === 'Buffer' && Array.isArray(b.data)) return printable(Buffer.from(b.data as number[]));
    return v;
  });
}

function brief(text: string): string {
  return text.length <= 240 ? text : `${text.slice(0, 239)}…`;
}

function printable(b: Buffer): string {
  const end = b.indexOf(0);
  const used = b.subarray(0, end < 0 ? b.length : end);
  return /^[\x20-\x7e]*$/.test(used.toString('latin1')) ? used.toString('latin1') : `0x${b.toString('hex')}`;
}

function inspect(o: InspectArgs): number {
  let fd: SharedFd | undefined;
  try {
    fd = open(o);
    if (fd.size <= o.offset) throw new ShmkitError('ERR_SHM_STATE_TOO_SMALL', `the file has ${fd.size} bytes; nothing at offset ${o.offset}`);
    // Private and copy-on-write: inspecting never changes the file.
    const map = fd.map({ writable: false, offset: 0 });
    const mem = map.buffer.subarray(o.offset);
    if (mem.length >= 8 && mem.readBigUInt64LE(0) === 0n) {
      throw new ShmkitError('ERR_SHM_STATE_BAD_HEADER', 'no shm-state directory here: the memory is all zeros at the start (never used by shm-state?)');
    }
    const dir = RegionDirectory.open(mem);
    const regions = dir.list().map((r) => ({ ...r, state: describe(mem, r) }));
    if (o.json) {
      process.stdout.write(`${show({ entries: dir.entries, free: dir.free, regions })}\n`);
    } else {
      process.stdout.write(`${regions.length} region(s), ${dir.free} bytes free\n`);
      for (const r of regions) {
        process.stdout.write(`${r.name}\t${r.kind}\toffset ${r.offset}\tlength ${r.length}\tv${r.layoutVersion}\t${brief(show(r.state))}\n`);
      }
    }
    map.close();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    process.stderr.write(`shm-state: ${e.message ?? String(err)}${e.code === undefined ? '' : ` (${e.code})`}\n`);
    return 1;
  } finally {
    fd?.close();
  }
  return 0;
}

const info = { name: 'shm-state', version: packageVersion('@shmkit/shm-state', __dirname), help: USAGE };
exitWith('shm-state', runCommandSync(info, () => inspect(parseInspectArgs(process.argv.slice(2)))));
