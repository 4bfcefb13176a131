// The table of buffer kinds the conformance tests run against. Every factory
// returns a zero-filled buffer of `n` bytes; cleanup() releases everything
// made since the last cleanup (call it in afterEach).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { IPCBuffer } from '../src';

export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcbuffer-test-'));
process.env['SHMKIT_IPCBUFFER_REGISTRY'] = path.join(tmp, 'registry');

let counter = 0;
const undo: (() => void)[] = [];

export function uniqueName(): string {
  return `/ipcbuffer-test-${process.pid}-${++counter}`;
}

export function uniqueKey(): number {
  return 0x4b000000 + ((process.pid & 0xffff) << 8) + (++counter & 0xff);
}

export function uniquePath(): string {
  return path.join(tmp, `file-${++counter}.bin`);
}

function own(b: IPCBuffer, remove?: () => void): IPCBuffer {
  undo.push(() => {
    b.close();
    remove?.();
  });
  return b;
}

export const kinds: [string, (n: number) => Buffer][] = [
  ['Buffer.alloc', (n) => Buffer.alloc(n)],
  ['memory IPCBuffer(n)', (n) => new IPCBuffer(n)],
  ['posix IPCBuffer(n, "*name")', (n) => {
    const name = uniqueName();
    return own(IPCBuffer(n, `*${name}`), () => IPCBuffer.unlink(name));
  }],
  ['file IPCBuffer(n, path)', (n) => {
    const p = uniquePath();
    return own(IPCBuffer(n, p), () => fs.rmSync(p));
  }],
  ['sysv IPCBuffer(n, key)', (n) => {
    const key = uniqueKey();
    return own(IPCBuffer(n, key), () => IPCBuffer.removeSysv(key));
  }],
  ['anonymous IPCBuffer.anonymous(n)', (n) => own(IPCBuffer.anonymous(n))],
  ['alias of posix IPCBuffer(parent, n, 8)', (n) => {
    const name = uniqueName();
    const parent = own(IPCBuffer.posix(name, n + 16), () => IPCBuffer.unlink(name));
    return IPCBuffer(parent, n, 8);
  }],
];

export function cleanup(): void {
  while (undo.length > 0) undo.pop()?.();
}

export function removeTmp(): void {
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** The `code` of what `fn` throws, or undefined when it returns. */
export function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}
