import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { alternateTimings, environment, printTable as printShmkitTable, type Row } from '@shmkit/kit/bench';

import { IPCBuffer } from '../src';

export { environment, type Row };

export function printTable(title: string, rows: Row[]): void {
  printShmkitTable(title, rows, 'IPCBuffer');
}

/**
 * Best (fastest) timings in ms of `ours` and `base` over `runs` rounds, run
 * alternately so both see the same machine load. The best run is the least
 * disturbed by other work on a shared machine; medians moved by ±30% here.
 */
export function compare(ours: () => void, base: () => void, runs = 15): { ours: number; base: number } {
  const t = alternateTimings(ours, base, runs);
  return { ours: Math.min(...t.ours), base: Math.min(...t.base) };
}

/**
 * A fresh copy of a function per subject: each gets its own inline caches,
 * so the plain Buffer and the IPCBuffer are each measured monomorphic.
 */
let freshCount = 0;
export function fresh<T extends (...args: never[]) => unknown>(fn: T): T {
  // The unique comment defeats V8's compilation cache, which would otherwise
  // hand every copy the same feedback.
  return new Function(`/* copy ${++freshCount} */ return (${fn.toString()})`)() as T;
}

export interface Subject {
  label: string;
  make: (n: number) => IPCBuffer;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcbuffer-bench-'));
process.env['SHMKIT_IPCBUFFER_REGISTRY'] ??= path.join(tmp, 'registry');
let seq = 0;
const undo: (() => void)[] = [];

export const subjects: Subject[] = [
  { label: 'posix', make: (n) => {
    const name = `/ipcbuffer-bench-${process.pid}-${++seq}`;
    const b = IPCBuffer.posix(name, n);
    undo.push(() => { b.close(); IPCBuffer.unlink(name); });
    return b;
  } },
  { label: 'sysv', make: (n) => {
    const key = 0x4d000000 + ((process.pid & 0xffff) << 8) + (++seq & 0xff);
    const b = IPCBuffer.sysv(key, n);
    undo.push(() => { b.close(); IPCBuffer.removeSysv(key); });
    return b;
  } },
  { label: 'anonymous', make: (n) => {
    const b = IPCBuffer.anonymous(n);
    undo.push(() => b.close());
    return b;
  } },
  { label: 'file', make: (n) => {
    const p = path.join(tmp, `bench-${++seq}.bin`);
    const b = IPCBuffer.file(p, n);
    undo.push(() => { b.close(); fs.rmSync(p); });
    return b;
  } },
];

export function cleanup(): void {
  while (undo.length > 0) undo.pop()?.();
}

export function scratchDir(): string {
  return tmp;
}

export function removeScratch(): void {
  cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
}

export function rate(bytes: number, ms: number): string {
  const perS = (bytes / ms) * 1000;
  return perS >= 1e9 ? `${(perS / 1e9).toFixed(2)} GB/s` : `${(perS / 1e6).toFixed(0)} MB/s`;
}

export function opsRate(ops: number, ms: number): string {
  return `${((ops / ms) * 1000 / 1e6).toFixed(0)} M ops/s`;
}


/**
 * One row per subject: `loop` run over a fresh `bytes`-byte buffer of that
 * subject vs over a plain Buffer.alloc, as `ops` operations a pass. Each side
 * gets its own copy of `loop` (fresh), so neither shares the other's type feedback.
 */
export function compareLoops(scenario: string, bytes: number, ops: number, loop: (b: Buffer) => number): Row[] {
  const rows: Row[] = [];
  for (const sub of subjects) {
    const ours = sub.make(bytes);
    const base = Buffer.alloc(bytes);
    const fo = fresh(loop);
    const fb = fresh(loop);
    const t = compare(() => void fo(ours), () => void fb(base), 15);
    rows.push({ scenario: `${scenario} (${sub.label})`, ours: opsRate(ops, t.ours), baseline: opsRate(ops, t.base), ratio: t.base / t.ours });
    cleanup();
  }
  return rows;
}
