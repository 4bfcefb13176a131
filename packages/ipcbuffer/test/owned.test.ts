// What ipcbuffer opens must be ours alone: no symlinks, no objects or files
// another user owns or can write, no registry entries it did not write.
// (Cross-user cases with a real second uid are in tests-integration.)
import fs from 'node:fs';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { IPCBuffer, registryDir } from '../src';
import { entries } from '../src/registry';

import { removeTmp, tmp, uniqueKey, uniqueName, uniquePath } from './kinds';

const undo: (() => void)[] = [];
afterEach(() => {
  while (undo.length > 0) undo.pop()?.();
});
afterAll(removeTmp);

function caught(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

const asRoot = process.geteuid?.() === 0;
const rootOnly = asRoot ? test : test.skip;

describe('POSIX shared memory', () => {
  test('a symlink in /dev/shm is refused, its target untouched', () => {
    const name = uniqueName();
    const target = uniquePath();
    fs.writeFileSync(target, 'keep');
    fs.symlinkSync(target, `/dev/shm${name}`);
    undo.push(() => fs.rmSync(`/dev/shm${name}`));
    for (const open of [() => IPCBuffer.posix(name, 4096), () => IPCBuffer.posix(name), () => IPCBuffer(4096, `*${name}`)]) {
      const e = caught(open);
      expect(e.code).toBe('ERR_SHM_UNSAFE_PATH');
      expect(e.message).toMatch(/is a symlink/);
    }
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
  });

  test('an existing object that group or others can write is refused, not written', () => {
    const name = uniqueName();
    fs.writeFileSync(`/dev/shm${name}`, Buffer.alloc(4096));
    fs.chmodSync(`/dev/shm${name}`, 0o666);
    undo.push(() => fs.rmSync(`/dev/shm${name}`));
    const e = caught(() => IPCBuffer.posix(name, 8192));
    expect(e.code).toBe('ERR_SHM_UNSAFE_PATH');
    expect(e.message).toMatch(/0666/);
    expect(fs.statSync(`/dev/shm${name}`).size).toBe(4096);
  });

  rootOnly('an existing object of another uid is refused (root too)', () => {
    const name = uniqueName();
    fs.writeFileSync(`/dev/shm${name}`, Buffer.alloc(4096), { mode: 0o600 });
    fs.chownSync(`/dev/shm${name}`, 65534, 65534);
    undo.push(() => fs.rmSync(`/dev/shm${name}`));
    const e = caught(() => IPCBuffer.posix(name));
    expect(e.code).toBe('ERR_SHM_UNSAFE_PATH');
    expect(e.message).toMatch(/uid 65534/);
  });

  test('a mode that lets others write is refused before anything is created', () => {
    const name = uniqueName();
    for (const mode of [0o666, 0o620, 0o602]) {
      const e = caught(() => IPCBuffer.posix(name, 10, { mode }));
      expect(e.code).toBe('ERR_INVALID_ARG_VALUE');
      expect(e.message).toMatch(/lets other users write; .*at most 0o644/);
    }
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
  });
});

describe('files', () => {
  test('a symlink at the path is refused for create and open; the target is untouched', () => {
    const target = uniquePath();
    fs.writeFileSync(target, 'keep');
    const link = uniquePath();
    fs.symlinkSync(target, link);
    for (const open of [() => IPCBuffer.file(link, 4096), () => IPCBuffer.file(link), () => IPCBuffer.file(link, undefined, { readOnly: true }), () => IPCBuffer(4096, link)]) {
      const e = caught(open);
      expect(e.code).toBe('ERR_SHM_UNSAFE_PATH');
      expect(e.message).toMatch(/is a symlink/);
    }
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
  });

  test('a dangling symlink is not followed to create its target', () => {
    const target = uniquePath();
    const link = uniquePath();
    fs.symlinkSync(target, link);
    expect(caught(() => IPCBuffer.file(link, 4096)).code).toBe('ERR_SHM_UNSAFE_PATH');
    expect(fs.existsSync(target)).toBe(false);
  });

  test('a group- or world-writable file is refused', () => {
    const p = uniquePath();
    fs.writeFileSync(p, 'abc');
    fs.chmodSync(p, 0o664);
    const e = caught(() => IPCBuffer.file(p));
    expect(e.code).toBe('ERR_SHM_UNSAFE_PATH');
    expect(e.message).toMatch(/0664/);
  });

  rootOnly('a file of another uid is refused, read-only too', () => {
    const p = uniquePath();
    fs.writeFileSync(p, 'theirs', { mode: 0o644 });
    fs.chownSync(p, 65534, 65534);
    for (const open of [() => IPCBuffer.file(p, 4096), () => IPCBuffer.file(p, undefined, { readOnly: true })]) {
      expect(caught(open)).toMatchObject({ code: "ERR_SHM_UNSAFE_PATH", message: expect.stringMatching(/uid 65534/) });
    }
    expect(fs.readFileSync(p, 'utf8')).toBe('theirs');
  });

  test('open errors keep their errno as a SystemError with a hint', () => {
    const e = caught(() => IPCBuffer.file(path.join(tmp, 'missing', 'f'), 10)) as Error & { code?: string; syscall?: string; errno?: number };
    expect([e.code, e.syscall, e.errno]).toEqual(['ENOENT', 'open', 2]);
    expect(e.message).toMatch(/or its directory does not/);
  });
});

describe('System V', () => {
  rootOnly('a segment under our key owned by another uid is refused', () => {
    const key = uniqueKey();
    const s = IPCBuffer.sysv(key, 4096);
    undo.push(() => { s.close(); IPCBuffer.removeSysv(key); });
    // Hand it to uid 65534 (IPC_SET), as if that user owned it.
    chownSegment(s.id as number, 65534);
    expect(sys.sysvStat(s.id as number).uid).toBe(65534);
    const e = caught(() => IPCBuffer.sysv(key));
    expect(e.code).toBe('ERR_SHM_UNSAFE_PATH');
    expect(e.message).toMatch(/is owned by uid 65534, not private to this process/);
  });
});

/** shmctl(IPC_SET) of shm_perm.uid: offsets of glibc's struct shmid_ds (x86_64 and aarch64). */
function chownSegment(id: number, uid: number): void {
  const s = sys.getScratch();
  s.buf.fill(0, 0, 128);
  sys.check(sys.libc().shmctl(id, sys.constants.IPC_STAT, s.addr), 'shmctl', 'stat');
  s.buf.writeUInt32LE(uid, 4);
  sys.check(sys.libc().shmctl(id, 1 /* IPC_SET */, s.addr), 'shmctl', 'set');
}

describe('the registry', () => {
  test('is created 0700; a group-accessible one is refused', () => {
    const name = uniqueName();
    IPCBuffer.posix(name, 10).close();
    undo.push(() => IPCBuffer.unlink(name));
    expect(fs.lstatSync(registryDir()).mode & 0o777).toBe(0o700);
    fs.chmodSync(registryDir(), 0o750);
    undo.push(() => fs.chmodSync(registryDir(), 0o700));
    expect(caught(() => entries()).code).toBe('ERR_IPCBUFFER_UNSAFE_REGISTRY');
  });

  test('record files that are symlinks, group-writable or oversized are skipped', () => {
    const name = uniqueName();
    IPCBuffer.posix(name, 10).close();
    undo.push(() => IPCBuffer.unlink(name));
    const dir = registryDir();
    const outside = uniquePath();
    const forged = (id: string) => JSON.stringify({ kind: 'posix', id, size: 1, pid: 1, start: 1, created: 1 });
    fs.writeFileSync(outside, forged('/forged-link'));
    fs.symlinkSync(outside, path.join(dir, 'posix-link.json'));
    fs.writeFileSync(path.join(dir, 'posix-open.json'), forged('/forged-open'), { mode: 0o666 });
    fs.chmodSync(path.join(dir, 'posix-open.json'), 0o666);
    fs.writeFileSync(path.join(dir, 'posix-big.json'), forged('/forged-big') + ' '.repeat(5000), { mode: 0o600 });
    undo.push(() => { for (const f of ['posix-link.json', 'posix-open.json', 'posix-big.json']) fs.rmSync(path.join(dir, f)); });
    const ids = entries().map((e) => e.id);
    expect(ids).toContain(name);
    expect(ids).not.toEqual(expect.arrayContaining(['/forged-link']));
    expect(ids.filter((id) => id.startsWith('/forged'))).toEqual([]);
  });
});
