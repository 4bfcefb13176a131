import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sys from '@shmkit/shm-fd/sys';

import { checkRelativePath, openConfined } from '../src/server/confine';
import { tokenMatches } from '../src/server/token';

describe('path confinement', () => {
  let root: string;
  beforeEach(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-confine-')));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  test.each(['', '/etc/passwd', '..', '../x', 'a/../../b', 'a/..', 'a\0b'])('refuses %j', (p) => {
    expect(() => checkRelativePath(p)).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_BAD_PATH' }));
  });

  test.each(['a', 'a/b.bin', './a', 'a//b', '..a', 'a..'])('accepts %j', (p) => {
    expect(() => checkRelativePath(p)).not.toThrow();
  });

  test('a symlinked directory leading outside is an escape; one inside is fine', () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-out-'));
    try {
      fs.writeFileSync(path.join(outside, 'x'), 'x');
      fs.symlinkSync(outside, path.join(root, 'out'));
      expect(() => openConfined(root, 'out/x', false)).toThrow(/outside the served root/);
      fs.mkdirSync(path.join(root, 'in'));
      fs.writeFileSync(path.join(root, 'in', 'y'), 'yy');
      fs.symlinkSync('in', path.join(root, 'link'));
      const f = openConfined(root, 'link/y', true);
      expect([f.realPath, f.size, f.writable]).toEqual([path.join(root, 'in', 'y'), 2, true]);
      sys.close(f.fd);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  test('a root that is itself a prefix of a sibling does not admit the sibling', () => {
    const sibling = `${root}-sibling`;
    fs.mkdirSync(sibling);
    try {
      fs.writeFileSync(path.join(sibling, 'z'), 'z');
      fs.symlinkSync(path.join(sibling, 'z'), path.join(root, 'z'));
      expect(() => openConfined(root, 'z', false)).toThrow(/outside the served root/);
    } finally {
      fs.rmSync(sibling, { recursive: true, force: true });
    }
  });

  test('a FIFO does not hang the server', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    expect(() => openConfined(root, 'fifo', false)).toThrow(/not a regular file/);
  });

  test('read-only files fall back to a read-only open', () => {
    fs.writeFileSync(path.join(root, 'ro'), 'r', { mode: 0o400 });
    if (process.getuid?.() === 0) return; // root may open anything read-write
    const f = openConfined(root, 'ro', true);
    expect(f.writable).toBe(false);
    sys.close(f.fd);
  });
});

describe('tokenMatches', () => {
  test('compares contents and lengths', () => {
    const t = Buffer.from('secret');
    expect(tokenMatches(t, Buffer.from('secret'))).toBe(true);
    expect(tokenMatches(t, Buffer.from('secreT'))).toBe(false);
    expect(tokenMatches(t, Buffer.from('secret!'))).toBe(false);
    expect(tokenMatches(t, Buffer.alloc(0))).toBe(false);
    expect(tokenMatches(undefined, Buffer.from('anything'))).toBe(true);
  });
});
