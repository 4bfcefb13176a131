// `ipcbuffer rm` removes only what the registry says this user created;
// --force widens that to unrecorded objects of our own, and (root only) to
// other users' objects. (Objects of a real second uid: tests-integration.)
import fs from 'node:fs';

import * as sys from '@shmkit/shm-fd/sys';

import { main } from '../src/cli/ipcbuffer';
import { IPCBuffer } from '../src';

import { removeTmp, uniqueKey, uniqueName, uniquePath } from './kinds';

const undo: (() => void)[] = [];
afterEach(() => {
  while (undo.length > 0) {
    try {
      undo.pop()?.();
    } catch {
      // removed by the test
    }
  }
});
afterAll(removeTmp);

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const status = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { status, out, err };
}

const C = sys.constants;
const segmentExists = (key: number) => {
  try {
    sys.shmget(key, 0, 0);
    return true;
  } catch {
    return false;
  }
};
const rootOnly = process.geteuid?.() === 0 ? test : test.skip;

test('an unrecorded POSIX object is kept without --force (exit 1, names the object and the flag) and removed with it', () => {
  const name = uniqueName();
  sys.close(sys.shmOpen(name, C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600));
  undo.push(() => sys.shmUnlink(name));
  const kept = run('rm', name);
  expect(kept.status).toBe(1);
  expect(kept.err).toMatch(new RegExp(`cannot remove ${name}: POSIX shared memory ${name} was not created through ipcbuffer by uid \\d+ .*pass --force`));
  expect(kept.err).not.toMatch(/\n\s+at /);
  expect(fs.existsSync(`/dev/shm${name}`)).toBe(true);
  const forced = run('rm', '--force', name);
  expect(forced).toMatchObject({ status: 0, out: `removed posix ${name}\n` });
  expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
});

test('an unrecorded System V segment is kept without --force and removed with it', () => {
  const key = uniqueKey();
  const id = sys.shmget(key, 4096, C.IPC_CREAT | C.IPC_EXCL | 0o600);
  undo.push(() => sys.sysvRemove(id));
  const kept = run('rm', String(key));
  expect(kept.status).toBe(1);
  expect(kept.err).toMatch(/was not created through ipcbuffer .*pass --force to remove it anyway \(ipcbuffer rm --force/);
  expect(segmentExists(key)).toBe(true);
  expect(run('rm', String(key), '--force').status).toBe(0);
  expect(segmentExists(key)).toBe(false);
});

test('--force does not reach files without a record, nor a recorded path that is now a symlink', () => {
  const stranger = uniquePath();
  fs.writeFileSync(stranger, 'not ours');
  const r = run('rm', '--force', stranger);
  expect(r.status).toBe(1);
  expect(r.err).toMatch(/was not created by ipcbuffer/);
  expect(fs.existsSync(stranger)).toBe(true);

  const made = uniquePath();
  IPCBuffer.file(made, 10).close();
  fs.rmSync(made);
  fs.symlinkSync(stranger, made);
  const swapped = run('rm', made);
  expect(swapped.status).toBe(1);
  expect(swapped.err).toMatch(/ERR_SHM_UNSAFE_PATH|symlink/);
  expect(fs.lstatSync(made).isSymbolicLink()).toBe(true);
  expect(fs.readFileSync(stranger, 'utf8')).toBe('not ours');
  fs.rmSync(made);
});

rootOnly('a recorded name now held by another uid is refused; root removes it only with --force', () => {
  const name = uniqueName();
  IPCBuffer.posix(name, 10).close();
  fs.chownSync(`/dev/shm${name}`, 65534, 65534);
  undo.push(() => IPCBuffer.unlink(name));
  const kept = run('rm', name);
  expect(kept.status).toBe(1);
  expect(kept.err).toMatch(/belongs to uid 65534, not to uid 0; as root, pass --force/);
  expect(fs.existsSync(`/dev/shm${name}`)).toBe(true);
  expect(run('rm', '--force', name).status).toBe(0);
  expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
});
