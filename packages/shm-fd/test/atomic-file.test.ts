import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

// Atomic replacement on real files, with what another user could have put
// beside the target (as root: a directory another uid really owns).
const isRoot = process.geteuid?.() === 0;
const other = 65534;

/** Makes the next temp names predictable, as a user listing the directory would see them. */
function fixRandom(hex: string): void {
  jest.spyOn(crypto, 'randomBytes').mockImplementation((() => Buffer.from(hex, 'hex')) as unknown as typeof crypto.randomBytes);
}

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-file-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const entries = () => fs.readdirSync(dir).sort();

  it('creates the file 0600 with the data and leaves no temp file', () => {
    const file = path.join(dir, 'record.json');
    sys.writeFileAtomic(file, '{"a":1}');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"a":1}');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(entries()).toEqual(['record.json']);
  });

  it('replaces an existing file whole, durably, with the mode asked for', () => {
    const file = path.join(dir, 'state');
    fs.writeFileSync(file, 'old old old old');
    const data = Buffer.alloc(3 << 20, 7);
    sys.writeFileAtomic(file, data, { durable: true, mode: 0o644 });
    expect(fs.readFileSync(file).equals(data)).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(entries()).toEqual(['state']);
  });

  it('syncs the data, then renames, then syncs the directory, only when durable', () => {
    const file = path.join(dir, 'f');
    const order: string[] = [];
    const fsync = jest.spyOn(fs, 'fsyncSync').mockImplementation(() => void order.push('fsync'));
    const rename = jest.spyOn(fs, 'renameSync');
    rename.mockImplementation((from, to) => {
      order.push('rename');
      rename.mockRestore();
      fs.renameSync(from, to);
    });
    sys.writeFileAtomic(file, 'x', { durable: true });
    expect(order).toEqual(['fsync', 'rename', 'fsync']);
    fsync.mockClear();
    sys.writeFileAtomic(file, 'y');
    expect(fsync).not.toHaveBeenCalled();
    expect(fs.readFileSync(file, 'utf8')).toBe('y');
  });

  it('never writes through a symlink planted at the temp name, and leaves it and its target alone', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'old');
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'victim');
    fixRandom('0badc0de');
    const temp = sys.tempPathBeside(file);
    fs.symlinkSync(victim, temp);
    expect(() => sys.writeFileAtomic(file, 'new')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(fs.readFileSync(victim, 'utf8')).toBe('victim');
    expect(fs.lstatSync(temp).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
  });

  it('never writes into a file another process pre-created at the temp name', () => {
    const file = path.join(dir, 'f');
    fixRandom('00c0ffee');
    const temp = sys.tempPathBeside(file);
    fs.writeFileSync(temp, 'theirs', { mode: 0o666 });
    expect(() => sys.writeFileAtomic(file, 'secret')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(fs.readFileSync(temp, 'utf8')).toBe('theirs');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('leaves the old file intact and no temp file behind when a write fails midway', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'old');
    let calls = 0;
    const real = fs.writeSync;
    jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off: number, len: number) => {
      if (++calls > 1) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      return real(fd, buf, off, Math.min(len, 4));
    }) as unknown as typeof fs.writeSync);
    expect(() => sys.writeFileAtomic(file, 'new content')).toThrow(/ENOSPC/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(entries()).toEqual(['f']);
  });

  it('leaves the old file intact and no temp file behind when the data sync fails', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'old');
    jest.spyOn(fs, 'fsyncSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    });
    expect(() => sys.writeFileAtomic(file, 'new', { durable: true })).toThrow(/EIO/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(entries()).toEqual(['f']);
  });

  it('does not remove what another process put at the temp name after the rename when the directory sync fails', () => {
    const file = path.join(dir, 'f');
    fixRandom('feedface');
    const temp = sys.tempPathBeside(file);
    let syncs = 0;
    jest.spyOn(fs, 'fsyncSync').mockImplementation(() => {
      if (++syncs === 2) {
        fs.writeFileSync(temp, 'theirs');
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      }
    });
    expect(() => sys.writeFileAtomic(file, 'new', { durable: true })).toThrow(/EIO/);
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readFileSync(temp, 'utf8')).toBe('theirs');
  });

  it('refuses a world-writable directory that is not sticky, creating nothing', () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    expect(() => sys.writeFileAtomic(path.join(open, 'f'), 'x')).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH' }));
    expect(fs.readdirSync(open)).toEqual([]);
  });

  it('accepts a sticky shared directory such as /tmp', () => {
    const sticky = path.join(dir, 'sticky');
    fs.mkdirSync(sticky);
    fs.chmodSync(sticky, 0o1777);
    sys.writeFileAtomic(path.join(sticky, 'f'), 'x');
    expect(fs.readFileSync(path.join(sticky, 'f'), 'utf8')).toBe('x');
  });

  (isRoot ? it : it.skip)('refuses a directory another user owns, creating nothing', () => {
    const theirs = path.join(dir, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o755 });
    fs.chownSync(theirs, other, other);
    expect(() => sys.writeFileAtomic(path.join(theirs, 'f'), 'x')).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH', message: expect.stringMatching(/owned by uid 65534/) }),
    );
    expect(fs.readdirSync(theirs)).toEqual([]);
  });
});

describe('atomicReplace and tempPathBeside', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-replace-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names a hidden, pid-tagged temp file in the same directory, a new one each time', () => {
    const file = path.join(dir, 'BACKUP');
    const a = sys.tempPathBeside(file, 'shm-restore');
    expect(path.dirname(a)).toBe(dir);
    expect(path.basename(a)).toMatch(new RegExp(`^\\.BACKUP\\.shm-restore-${process.pid}-[0-9a-f]{8}\\.tmp$`));
    expect(sys.tempPathBeside(file, 'shm-restore')).not.toBe(a);
  });

  it('renames the temp file over the target and syncs the directory when durable', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'old');
    const temp = sys.tempPathBeside(file);
    fs.writeFileSync(temp, 'new');
    const fsync = jest.spyOn(fs, 'fsyncSync');
    sys.atomicReplace(temp, file, { durable: true });
    expect(fsync).toHaveBeenCalledTimes(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('new');
    expect(fs.readdirSync(dir)).toEqual(['f']);
  });

  it('replaces a symlink at the target itself, never its target', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'victim');
    const file = path.join(dir, 'f');
    fs.symlinkSync(victim, file);
    const temp = sys.tempPathBeside(file);
    fs.writeFileSync(temp, 'new');
    sys.atomicReplace(temp, file);
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readFileSync(victim, 'utf8')).toBe('victim');
  });

  it('fsyncDir refuses what is not a directory', () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'x');
    expect(() => sys.fsyncDir(file)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });
});
