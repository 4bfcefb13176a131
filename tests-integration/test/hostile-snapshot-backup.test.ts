// A second local user (uid 65534, a real process via setpriv) plants things
// in a sticky, world-writable directory like /tmp where shm-restore (root
// here) keeps BACKUP: a symlink as BACKUP, a symlink as its lock file, a
// BACKUP file of their own. shm-restore must refuse each with a coded error
// and touch nothing they point at; a symlink of our own is resolved once
// and only its target is used.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killAll, run } from './helpers/proc';
import { childFixture, shmRestore, tempFiles } from './shm-restore-helpers';

const isRoot = process.geteuid?.() === 0;
const other = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const maybe = isRoot ? describe : describe.skip;
if (!isRoot) console.log('hostile-snapshot-backup: skipped (needs root to act as a second uid)');

function asOther(script: string): void {
  execFileSync(other[0] as string, [...other.slice(1), 'sh', '-c', script]);
}

let dir: string;
let sticky: string;
let mine: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-snapshot-'));
  fs.chmodSync(dir, 0o755); // the other user must reach the sticky directory
  sticky = path.join(dir, 'tmp');
  fs.mkdirSync(sticky);
  fs.chmodSync(sticky, 0o1777);
  mine = path.join(dir, 'private');
  fs.mkdirSync(mine, { mode: 0o700 });
});
afterEach(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

const child = (...args: string[]) => [process.execPath, childFixture, ...args];

maybe('shm-restore against files planted beside BACKUP by another user', () => {
  test('a BACKUP symlink planted by uid 65534 is refused; its target is neither read nor written and the child never runs', async () => {
    const victim = path.join(mine, 'victim');
    fs.writeFileSync(victim, 'precious', { mode: 0o600 });
    const backup = path.join(sticky, 'state');
    asOther(`ln -s ${victim} ${backup}`);
    const r = await run([shmRestore, backup, '--', ...child('write', '8192', 'overwritten')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/symlink owned by uid 65534.*\(ERR_SHM_UNSAFE_PATH\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.readdirSync(sticky)).toEqual(['state']);
    expect(fs.readdirSync(mine)).toEqual(['victim']);
  });

  test('a lock-file symlink planted by uid 65534 is refused; the file it names is not created', async () => {
    const victim = path.join(mine, 'created');
    asOther(`ln -s ${victim} ${path.join(sticky, '.state.shm-restore.lock')}`);
    const r = await run([shmRestore, path.join(sticky, 'state'), '--', ...child('write', '8192', 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERR_SHM_UNSAFE_PATH/);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(victim)).toBe(false);
    expect(fs.existsSync(path.join(sticky, 'state'))).toBe(false);
  });

  test('a BACKUP pre-created by uid 65534 (to read what we write, or to feed us a state) is refused and left as it was', async () => {
    const backup = path.join(sticky, 'state');
    asOther(`umask 022; printf bait > ${backup}`);
    const r = await run([shmRestore, backup, '--', ...child('write', '8192', 'secret')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/65534.*\(ERR_SHM_UNSAFE_PATH\)/);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(backup, 'utf8')).toBe('bait');
  });

  test('a BACKUP in a world-writable directory that is not sticky is refused', async () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    const r = await run([shmRestore, path.join(open, 'state'), '--', ...child('write', '8192', 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sticky.*\(ERR_SHM_UNSAFE_PATH\)/);
    expect(fs.readdirSync(open)).toEqual([]);
  });

  test('our own BACKUP symlink is resolved once: the state is restored from and written to its target, the link stays a link', async () => {
    const target = path.join(mine, 'state.bin');
    const link = path.join(sticky, 'state');
    fs.symlinkSync(target, link);
    const first = await run([shmRestore, link, '--', ...child('write', '8192', 'hello')]);
    expect(first.status).toBe(0);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target).subarray(0, 5).toString()).toBe('hello');
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    // Everything beside BACKUP lives beside the target, nothing in the shared directory.
    expect(fs.readdirSync(sticky)).toEqual(['state']);
    expect(fs.readdirSync(mine).sort()).toEqual(['.state.bin.shm-restore.lock', 'state.bin']);
    const second = await run([shmRestore, link, '--', ...child('show', '5')]);
    expect(second.status).toBe(0);
    expect(second.stdout).toContain(`size 8192 head ${Buffer.from('hello').toString('hex')}`);
    expect(tempFiles(mine)).toEqual([]);
  });
});
