import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

describe('file locks and leases', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-locks-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('tryLockOfd', () => {
    it('is exclusive between open file descriptions, also within one process, until the holder closes', () => {
      const file = path.join(dir, 'lock');
      const a = sys.openOrCreateOwnedFile(file).fd;
      const b = sys.openOwnedFile(file, { write: true });
      try {
        expect(sys.tryLockOfd(a)).toBe(true);
        expect(sys.tryLockOfd(a)).toBe(true); // the holder may take it again
        expect(sys.tryLockOfd(b)).toBe(false);
        fs.closeSync(a);
        expect(sys.tryLockOfd(b)).toBe(true);
      } finally {
        fs.closeSync(b);
        try {
          fs.closeSync(a);
        } catch {
          // closed above
        }
      }
    });

    it('a dup of the holder shares the lock: it lives until the last fd of the description closes', () => {
      const file = path.join(dir, 'lock');
      const a = sys.openOrCreateOwnedFile(file).fd;
      const copy = sys.dup(a);
      const b = sys.openOwnedFile(file, { write: true });
      try {
        expect(sys.tryLockOfd(a)).toBe(true);
        fs.closeSync(a);
        expect(sys.tryLockOfd(b)).toBe(false);
        fs.closeSync(copy);
        expect(sys.tryLockOfd(b)).toBe(true);
      } finally {
        fs.closeSync(b);
      }
    });

    it('throws a SystemError for a bad fd instead of answering false', () => {
      expect(() => sys.tryLockOfd(1 << 20)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fcntl' }));
    });
  });

  describe('setLease and isSoleUser', () => {
    it('a file open once with one name is ours alone', () => {
      const file = path.join(dir, 'f');
      const fd = sys.createOwnedFile(file);
      try {
        expect(sys.isSoleUser(fd)).toBe(true);
        // The lease was dropped again: another open does not wait for a lease break.
        fs.closeSync(fs.openSync(file, 'r+'));
      } finally {
        fs.closeSync(fd);
      }
    });

    it('not when another open file description refers to it', () => {
      const file = path.join(dir, 'f');
      const fd = sys.createOwnedFile(file);
      const reader = fs.openSync(file, 'r');
      try {
        expect(sys.isSoleUser(fd)).toBe(false);
        expect(() => sys.setLease(fd, 'write')).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
      } finally {
        fs.closeSync(reader);
        fs.closeSync(fd);
      }
    });

    it('not when the file has a second name', () => {
      const file = path.join(dir, 'f');
      const fd = sys.createOwnedFile(file);
      fs.linkSync(file, path.join(dir, 'g'));
      try {
        expect(sys.isSoleUser(fd)).toBe(false);
      } finally {
        fs.closeSync(fd);
      }
    });
  });
});
