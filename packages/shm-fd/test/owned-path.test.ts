import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

// The shared-path rules on real files: symlinks, modes, and (as root) files
// another uid really owns.
const isRoot = process.geteuid?.() === 0;
const other = 65534;

describe('shared paths', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'owned-path-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a file 0600 whatever the umask, and opens it again', () => {
    const file = path.join(dir, 'f');
    const fd = sys.openOwnedFile(file, { write: true, create: true, mode: 0o600 });
    fs.closeSync(fd);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = sys.openOwnedFile(file, { write: true });
    fs.closeSync(again);
  });

  it('refuses a symlink as the last component, leaving the target untouched', () => {
    const target = path.join(dir, 'target');
    fs.symlinkSync(target, path.join(dir, 'link'));
    expect(() => sys.openOwnedFile(path.join(dir, 'link'), { write: true, create: true })).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/is a symlink/) }),
    );
    expect(fs.existsSync(target)).toBe(false);
  });

  it('refuses a group- or world-writable file', () => {
    const file = path.join(dir, 'open-to-all');
    fs.writeFileSync(file, 'x');
    fs.chmodSync(file, 0o666);
    expect(() => sys.openOwnedFile(file, { write: true })).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/mode 0666/) }));
  });

  it('refuses a directory or a fifo where a file is expected', () => {
    expect(() => sys.openOwnedFile(dir)).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/a directory, not a regular file/) }));
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // O_NONBLOCK is not needed: a read-only open of a fifo with no writer would block, so open it read-write.
    expect(() => sys.openOwnedFile(fifo, { write: true })).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/special file/) }));
  });

  (isRoot ? it : it.skip)('refuses a file that another uid created, in /dev/shm and by POSIX shm name', () => {
    const name = `/owned-path-test-${process.pid}`;
    execFileSync('setpriv', ['--reuid', String(other), '--regid', String(other), '--clear-groups', 'sh', '-c', `umask 077; : > /dev/shm${name}`]);
    try {
      expect(fs.statSync(`/dev/shm${name}`).uid).toBe(other);
      expect(() => sys.openOwnedFile(`/dev/shm${name}`, { write: true, create: true })).toThrow(
        expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/owned by uid 65534/) }),
      );
      expect(() => sys.openOwnedShm(name, { write: true, create: true })).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH' }));
      expect(fs.statSync(`/dev/shm${name}`).size).toBe(0);
    } finally {
      fs.rmSync(`/dev/shm${name}`, { force: true });
    }
  });

  it('creates and reopens POSIX shm of our own, 0600', () => {
    const name = `/owned-path-own-${process.pid}`;
    try {
      fs.closeSync(sys.openOwnedShm(name, { write: true, create: true, exclusive: true }));
      expect(fs.statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o600);
      fs.closeSync(sys.openOwnedShm(name));
      expect(() => sys.openOwnedShm(name, { write: true, create: true, exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    } finally {
      sys.shmUnlink(name);
    }
  });

  describe('createOwnedFile, createOwnedShm, openOrCreateOwnedFile', () => {
    it('creates only a new entry: EEXIST for anything there, a symlink included, whose target stays absent', () => {
      const file = path.join(dir, 'new');
      fs.closeSync(sys.createOwnedFile(file, 0o600));
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(() => sys.createOwnedFile(file)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'link'));
      expect(() => sys.createOwnedFile(path.join(dir, 'link'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      expect(fs.existsSync(path.join(dir, 'target'))).toBe(false);
    });

    it('removes what it created when the check after the open fails (a mode others can write)', () => {
      const file = path.join(dir, 'too-open');
      const old = process.umask(0);
      try {
        expect(() => sys.createOwnedFile(file, 0o666)).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH' }));
      } finally {
        process.umask(old);
      }
      expect(fs.existsSync(file)).toBe(false);
    });

    it('creates POSIX shm once, then EEXIST', () => {
      const name = `/owned-path-create-${process.pid}`;
      try {
        fs.closeSync(sys.createOwnedShm(name));
        expect(() => sys.createOwnedShm(name)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
      } finally {
        sys.shmUnlink(name);
      }
    });

    it('openOrCreateOwnedFile says whether it created the file, and refuses a planted symlink', () => {
      const file = path.join(dir, 'lock');
      const a = sys.openOrCreateOwnedFile(file);
      const b = sys.openOrCreateOwnedFile(file);
      fs.closeSync(a.fd);
      fs.closeSync(b.fd);
      expect([a.created, b.created]).toEqual([true, false]);
      fs.symlinkSync(file, path.join(dir, 'lock-link'));
      expect(() => sys.openOrCreateOwnedFile(path.join(dir, 'lock-link'))).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH' }));
    });
  });

  describe('ensurePrivateDir', () => {
    it('creates a missing directory 0700', () => {
      const d = path.join(dir, 'run');
      sys.ensurePrivateDir(d);
      expect(fs.statSync(d).mode & 0o777).toBe(0o700);
      sys.ensurePrivateDir(d);
    });

    it('refuses a directory others can enter, a symlink to ours, and (with create: false) a missing one', () => {
      const open = path.join(dir, 'open');
      fs.mkdirSync(open, { mode: 0o755 });
      fs.chmodSync(open, 0o755);
      expect(() => sys.ensurePrivateDir(open)).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/mode 0755/) }));
      const mine = path.join(dir, 'mine');
      sys.ensurePrivateDir(mine);
      fs.symlinkSync(mine, path.join(dir, 'alias'));
      expect(() => sys.ensurePrivateDir(path.join(dir, 'alias'))).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/a symlink/) }));
      expect(() => sys.ensurePrivateDir(path.join(dir, 'missing'), { create: false })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    });

    (isRoot ? it : it.skip)('refuses a directory another uid made first in a shared place', () => {
      const d = path.join(dir, 'theirs');
      fs.chmodSync(dir, 0o1777);
      execFileSync('setpriv', ['--reuid', String(other), '--regid', String(other), '--clear-groups', 'mkdir', '-m', '0700', d]);
      expect(() => sys.ensurePrivateDir(d)).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/owned by uid 65534/) }));
    });
  });

  describe('checkSharedDir', () => {
    it('accepts our own directory and a sticky world-writable one, refuses a non-sticky world-writable one', () => {
      sys.checkSharedDir(dir);
      sys.checkSharedDir('/tmp');
      const open = path.join(dir, 'open');
      fs.mkdirSync(open);
      fs.chmodSync(open, 0o777);
      expect(() => sys.checkSharedDir(open)).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/not sticky/) }));
      fs.chmodSync(open, 0o1777);
      sys.checkSharedDir(open);
    });

    (isRoot ? it : it.skip)('refuses a directory owned by another uid', () => {
      const d = path.join(dir, 'theirs');
      fs.mkdirSync(d, { mode: 0o755 });
      fs.chownSync(d, other, other);
      expect(() => sys.checkSharedDir(d)).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/owned by uid 65534/) }));
    });
  });

  it('runtimeDir prefers an absolute XDG_RUNTIME_DIR, else /tmp/<name>-<uid>', () => {
    expect(sys.runtimeDir('tool', { XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/tool');
    expect(sys.runtimeDir('tool', { XDG_RUNTIME_DIR: 'relative' })).toBe(`/tmp/tool-${process.geteuid?.()}`);
    expect(sys.runtimeDir('tool', {})).toBe(`/tmp/tool-${process.geteuid?.()}`);
  });
});
