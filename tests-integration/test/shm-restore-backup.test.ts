// shm-restore's handling of BACKUP: clean write-back, absent / empty /
// truncated / corrupt files, temp-file cleanup, --reset, signals, inspect.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { alive, bin, killAll, run, start, until } from './helpers/proc';
import { checkPrimes, childFixture, decode, primeTable, primesSnapshot, shmRestore, tempFiles } from './shm-restore-helpers';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-restore-'));
});
afterEach(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

const restore = (args: string[]) => run([shmRestore, ...args]);
const child = (...args: string[]) => [process.execPath, childFixture, ...args];

/** A valid restore-v1 backup holding the first 5000 primes. */
async function primesBackup(name = 'primes.backup'): Promise<string> {
  const backup = path.join(dir, name);
  const r = await restore(['--snapshot', 'restore-v1', backup, '--', process.execPath, primesSnapshot, '0', '5000']);
  expect(r.status).toBe(0);
  expect(primeTable(backup)).toHaveLength(5000);
  return backup;
}

test('without --snapshot: an absent BACKUP is created, the final state written back and restored next time', async () => {
  const backup = path.join(dir, 'state');
  const first = await restore([backup, '--', ...child('write', '8192', 'hello', '3')]);
  expect(first.stderr).toContain('created an empty');
  expect(first.status).toBe(3); // the child's status
  const bytes = fs.readFileSync(backup);
  expect(bytes.length).toBe(8192);
  expect(bytes.subarray(0, 5).toString()).toBe('hello');
  expect(fs.statSync(backup).mode & 0o777).toBe(0o600);
  const second = await restore([backup, '--', ...child('show', '5')]);
  expect(second.status).toBe(0);
  expect(second.stdout).toContain(`size 8192 head ${Buffer.from('hello').toString('hex')}`);
  expect(tempFiles(dir)).toEqual([]);
});

test('an empty BACKUP starts empty; a child that never sizes the file leaves BACKUP as it was', async () => {
  const backup = path.join(dir, 'state');
  fs.writeFileSync(backup, '');
  const r = await restore(['--snapshot', 'restore-v1', '--interval', '1', backup, '--', ...child('show', '4')]);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('size 0 head');
  expect(fs.statSync(backup).size).toBe(0);
});

test('restore-v1 before the child configured the file: no snapshot, no crash (the Rust fresh-start race)', async () => {
  const backup = path.join(dir, 'state');
  const p = start([shmRestore, '--snapshot', 'restore-v1', '--interval', '1', backup, '--', ...child('hold')]);
  await p.waitFor(/holding \d+/);
  // Many 1 ms cycles pass over a size-0, unconfigured file.
  await new Promise((r) => setTimeout(r, 100));
  process.kill(p.child.pid as number, 'SIGTERM');
  const exit = await p.exited;
  expect(p.stdout()).toContain('child got SIGTERM');
  expect(exit.status).toBe(0);
  expect(fs.statSync(backup).size).toBe(0);
  expect(tempFiles(dir)).toEqual([]);
});

test('a truncated BACKUP is refused, left untouched, and the child is not started', async () => {
  const backup = await primesBackup();
  fs.truncateSync(backup, 6000);
  const before = fs.readFileSync(backup);
  const r = await restore(['--snapshot', 'restore-v1', backup, '--', ...child('show', '4')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/is corrupt: .*cut short.*ERR_SNAPSHOT_TRUNCATED/);
  expect(r.stderr).toContain('--reset');
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stdout).toBe('');
  expect(fs.readFileSync(backup).equals(before)).toBe(true);
});

test('a corrupt BACKUP is refused; --reset keeps it aside and starts empty', async () => {
  const backup = await primesBackup();
  const bytes = fs.readFileSync(backup);
  bytes.writeBigUInt64LE(1000n, 0x1000 + 8); // entry 0 longer than the ring
  fs.writeFileSync(backup, bytes);
  const refused = await restore(['--snapshot', 'restore-v1', backup, '--', process.execPath, primesSnapshot, '0', '10']);
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain('ERR_SNAPSHOT_BAD_ENTRY');
  const reset = await restore(['--snapshot', 'restore-v1', '--reset', backup, '--', process.execPath, primesSnapshot, '0', '10']);
  expect(reset.status).toBe(0);
  expect(reset.stdout).toContain('resumed with 0 primes');
  const aside = fs.readdirSync(dir).filter((n) => n.startsWith('primes.backup.reset-'));
  expect(aside).toHaveLength(1);
  expect(fs.readFileSync(path.join(dir, aside[0] as string)).equals(bytes)).toBe(true);
  const table = primeTable(backup);
  checkPrimes(table);
  expect(table).toHaveLength(10);
});

test('a BACKUP that is not a shm-snapshot file is refused by restore-v1 with a clear message', async () => {
  const backup = path.join(dir, 'state');
  fs.writeFileSync(backup, 'this is not a snapshot file, just some text\n');
  const r = await restore(['--snapshot', 'restore-v1', backup, '--', ...child('show', '4')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('ERR_SNAPSHOT_BAD_MAGIC');
  expect(fs.readFileSync(backup, 'utf8')).toContain('not a snapshot');
});

test('restore-v1 resumes from BACKUP and writes back a longer table', async () => {
  const backup = await primesBackup();
  const r = await restore(['--snapshot', 'restore-v1', backup, '--', process.execPath, primesSnapshot, '0', '20000']);
  expect(r.stdout).toContain('resumed with 5000 primes');
  const table = primeTable(backup);
  checkPrimes(table);
  expect(table).toHaveLength(20000);
  const d = decode(fs.readFileSync(backup));
  expect(d?.valid.length).toBeGreaterThan(1);
});

test('temp files of killed runs are removed at start, whatever their pid; other files are not', async () => {
  const backup = path.join(dir, 'state');
  const dead = path.join(dir, '.state.shm-restore-999999999-abc.tmp');
  const otherPid = path.join(dir, `.state.shm-restore-${process.pid}-def.tmp`); // a live pid that was reused
  const unrelated = path.join(dir, '.other.shm-restore-1-abc.tmp');
  for (const f of [dead, otherPid, unrelated]) fs.writeFileSync(f, 'x');
  const r = await restore([backup, '--', ...child('write', '4096', 'x')]);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('left by a run that was killed');
  expect(fs.existsSync(dead)).toBe(false);
  expect(fs.existsSync(otherPid)).toBe(false);
  expect(fs.existsSync(unrelated)).toBe(true);
});

test('a second shm-restore on the same BACKUP is refused while the first runs, and allowed after it was killed', async () => {
  const backup = path.join(dir, 'state');
  const first = start([shmRestore, '--snapshot', 'restore-v1', backup, '--', ...child('hold')]);
  await first.waitFor(/holding \d+/);
  const second = await restore(['--snapshot', 'restore-v1', backup, '--', ...child('show', '4')]);
  expect(second.status).toBe(1);
  expect(second.stderr).toContain('in use by another shm-restore');
  expect(second.stdout).toBe('');
  process.kill(first.child.pid as number, 'SIGKILL');
  await first.exited;
  const third = await restore(['--snapshot', 'restore-v1', backup, '--', ...child('show', '4')]);
  expect(third.status).toBe(0);
});

test('a shared file passed in LISTEN_FDS is kept when it holds data, and filled from BACKUP when blank', async () => {
  const backup = path.join(dir, 'state');
  fs.writeFileSync(backup, 'from backup');
  const shmFd = bin('shm-fd', 'shm-fd');
  // shm-fd passes a blank 4 KiB memfd: BACKUP is restored into it.
  const blank = await run([shmFd, '-q', '--size', '4096', '--', process.execPath, shmRestore, backup, '--', ...child('show', '11')]);
  expect(blank.stderr).toContain('reusing SHM_SHARED_FD');
  expect(blank.stdout).toContain(`head ${Buffer.from('from backup').toString('hex')}`);
  // A passed-in file that holds data is newer than BACKUP: it wins.
  const script = `printf 'live state' >&3; exec "$@"`;
  const held = await run([shmFd, '-q', '--size', '4096', '--', '/bin/sh', '-c', script, 'sh', process.execPath, shmRestore, backup, '--', ...child('show', '10')]);
  expect(held.stderr).toContain('holds data; not restoring BACKUP');
  expect(held.stdout).toContain(`head ${Buffer.from('live state').toString('hex')}`);
  expect(fs.readFileSync(backup).subarray(0, 10).toString()).toBe('live state');
});

test('SIGTERM is forwarded to the child, and the final state is still written back', async () => {
  const backup = path.join(dir, 'state');
  fs.writeFileSync(backup, Buffer.from('restored!'));
  const p = start([shmRestore, backup, '--', ...child('hold')]);
  await p.waitFor(/holding \d+/);
  process.kill(p.child.pid as number, 'SIGTERM');
  const exit = await p.exited;
  expect(p.stdout()).toContain('child got SIGTERM');
  expect(exit.status).toBe(0);
  expect(fs.readFileSync(backup, 'utf8')).toBe('restored!');
});

test('a SIGKILLed wrapper does not orphan its child', async () => {
  const backup = path.join(dir, 'state');
  const p = start([shmRestore, '--snapshot', 'restore-v1', backup, '--', ...child('hold')]);
  const line = await p.waitFor(/holding \d+/);
  const pid = Number(/(\d+)/.exec(line)?.[1]);
  process.kill(p.child.pid as number, 'SIGKILL');
  await until(() => !alive(pid), 10000, 'the child to die with its wrapper');
});

test('inspect prints the configuration and entries; a corrupt file gets a message and status 1', async () => {
  const backup = await primesBackup();
  const r = await restore(['inspect', backup]);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('256 entries, 2048-byte data ring');
  expect(r.stdout).toContain('0000000000001388'); // 5000 big-endian
  const json = await restore(['inspect', '--json', backup]);
  expect(JSON.parse(json.stdout).configuration).toMatchObject({ entries: 256, dataBytes: 2048 });
  fs.truncateSync(backup, 100);
  const bad = await restore(['inspect', backup]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('cut short');
  const missing = await restore(['inspect', path.join(dir, 'nope')]);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('ENOENT');
});

test('usage errors exit 2 with a message', async () => {
  for (const args of [[], ['--snapshot', 'v2', 'b', '--', 'true'], ['--interval', 'soon', 'b', '--', 'true'], ['b'], ['--bogus', 'b', '--', 'true']]) {
    const r = await restore(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^shm-restore: /);
  }
});
