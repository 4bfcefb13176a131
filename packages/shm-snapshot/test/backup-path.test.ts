// BACKUP and the files beside it in directories other users can write: a
// symlink or file another user planted is refused, one of ours is resolved
// once and only its target is touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { BackupPath } from '../src/restore/backup';

const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;
const asRoot = isRoot ? test : test.skip;
if (!isRoot) console.log('backup-path: cross-user tests skipped (they need root to chown files to uid 65534)');

let dir: string;
let shared: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-snapshot-backup-'));
  // Like /tmp: everybody may create entries, nobody may remove another's.
  shared = path.join(dir, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o1777);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (b: BackupPath, text: string) =>
  b.replace((fd) => {
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, text, 0);
    return true;
  });

const unsafe = expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH' });

asRoot('a symlink another user planted as BACKUP is refused; its target is never touched', () => {
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'precious');
  const link = path.join(shared, 'state');
  fs.symlinkSync(victim, link);
  fs.lchownSync(link, NOBODY, NOBODY);
  expect(() => BackupPath.open(link)).toThrow(unsafe);
  expect(() => BackupPath.open(link)).toThrow(/symlink owned by uid 65534.*planted/);
  expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  expect(fs.readdirSync(shared)).toEqual(['state']);
});

test('our own symlink is resolved once: lock, temp files and the new BACKUP go to the target, the link stays a link', () => {
  const real = path.join(dir, 'real');
  fs.mkdirSync(real, { mode: 0o700 });
  const link = path.join(shared, 'state');
  fs.symlinkSync(path.join(real, 'state.bin'), link);
  const b = BackupPath.open(link);
  expect(b.file).toBe(path.join(fs.realpathSync(real), 'state.bin'));
  b.lock();
  b.createEmpty();
  write(b, 'version 1');
  write(b, 'version 2');
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(fs.readFileSync(link, 'utf8')).toBe('version 2');
  expect(fs.readdirSync(shared)).toEqual(['state']);
  expect(fs.readdirSync(real).filter((n) => n.endsWith('.lock'))).toEqual(['.state.bin.shm-restore.lock']);
  b.dispose();
});

asRoot('an existing BACKUP owned by another user, or writable by others, is refused', () => {
  const theirs = path.join(shared, 'theirs');
  fs.writeFileSync(theirs, 'planted');
  fs.chownSync(theirs, NOBODY, NOBODY);
  expect(() => BackupPath.open(theirs)).toThrow(unsafe);
  expect(() => BackupPath.open(theirs)).toThrow(/65534/);
  const open = path.join(dir, 'open');
  fs.writeFileSync(open, 'x');
  fs.chmodSync(open, 0o666);
  expect(() => BackupPath.open(open)).toThrow(unsafe);
  expect(() => BackupPath.open(open)).toThrow(/0666/);
  expect(fs.readFileSync(theirs, 'utf8')).toBe('planted');
});

test('a directory others can write that is not sticky is refused; a sticky one is accepted', () => {
  const open = path.join(dir, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777);
  expect(() => BackupPath.open(path.join(open, 'state'))).toThrow(unsafe);
  expect(() => BackupPath.open(path.join(open, 'state'))).toThrow(/sticky/);
  expect(BackupPath.open(path.join(shared, 'state')).file).toBe(path.join(fs.realpathSync(shared), 'state'));
});

asRoot('a directory owned by another user is refused', () => {
  const theirs = path.join(dir, 'theirs');
  fs.mkdirSync(theirs, { mode: 0o755 });
  fs.chownSync(theirs, NOBODY, NOBODY);
  expect(() => BackupPath.open(path.join(theirs, 'state'))).toThrow(unsafe);
  expect(() => BackupPath.open(path.join(theirs, 'state'))).toThrow(/65534/);
});

test('a planted lock-file symlink is refused and its target not created', () => {
  const target = path.join(dir, 'created-by-us');
  fs.symlinkSync(target, path.join(shared, '.state.shm-restore.lock'));
  const b = BackupPath.open(path.join(shared, 'state'));
  expect(() => b.lock()).toThrow(unsafe);
  expect(fs.existsSync(target)).toBe(false);
  b.dispose();
});

asRoot('stale temp files of another user are left alone; ours are removed', () => {
  const b = BackupPath.open(path.join(shared, 'state'));
  const theirs = path.join(shared, '.state.shm-restore-1-abc.tmp');
  const ours = path.join(shared, '.state.shm-restore-2-def.tmp');
  fs.writeFileSync(theirs, '');
  fs.chownSync(theirs, NOBODY, NOBODY);
  fs.writeFileSync(ours, '');
  expect(b.removeStaleTemps()).toEqual(['.state.shm-restore-2-def.tmp']);
  expect(fs.existsSync(theirs)).toBe(true);
});

test('a temp file name planted as a symlink is never written through', () => {
  const b = BackupPath.open(path.join(shared, 'state'));
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'precious');
  const realTemp = b.tempName.bind(b);
  let planted = '';
  b.tempName = () => {
    planted = realTemp();
    fs.symlinkSync(victim, planted);
    return planted;
  };
  expect(() => write(b, 'state')).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(EEXIST|ERR_SHM_UNSAFE_PATH)$/) }));
  expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  expect(fs.lstatSync(planted).isSymbolicLink()).toBe(true);
  expect(fs.existsSync(path.join(shared, 'state'))).toBe(false);
});
