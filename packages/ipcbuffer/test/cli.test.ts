// The ipcbuffer CLI, driven in-process through main(argv, io).
import fs from 'node:fs';
import path from 'node:path';

import { main } from '../src/cli/ipcbuffer';
import { parseTarget } from '../src/objects';
import { registryDir } from '../src/registry';
import { IPCBuffer } from '../src';

import { removeTmp, tmp, uniqueKey, uniqueName, uniquePath } from './kinds';

afterAll(removeTmp);

function run(...argv: string[]) {
  let out = '';
  let err = '';
  const status = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { status, out, err };
}

/** Rewrites the registry record of `id` as if a long-dead process had created it. */
function orphan(id: string): void {
  const dir = registryDir();
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    const e = JSON.parse(fs.readFileSync(p, 'utf8')) as { id: string; pid: number };
    if (e.id === id) fs.writeFileSync(p, JSON.stringify({ ...e, pid: 2 ** 22 + 1 }));
  }
}

test('ls lists what this process created, with size, pid and liveness; rm removes it', () => {
  const name = uniqueName();
  const key = uniqueKey();
  const file = uniquePath();
  const p = IPCBuffer.posix(name, 8192);
  const s = IPCBuffer.sysv(key, 4096);
  const f = IPCBuffer.file(file, 100);
  const ls = run('ls');
  expect(ls.status).toBe(0);
  const lines = ls.out.trim().split('\n');
  expect(lines[0]).toMatch(/^KIND\s+SIZE\s+PID\s+CREATOR\s+ATTACHED\s+OBJECT$/);
  expect(lines.find((l) => l.endsWith(name))).toMatch(new RegExp(`^posix\\s+8 KiB\\s+${process.pid}\\s+alive\\s+-\\s+`));
  expect(lines.find((l) => l.includes(`${key} (0x`))).toMatch(new RegExp(`^sysv\\s+4 KiB\\s+${process.pid}\\s+alive\\s+1\\s+`));
  expect(lines.find((l) => l.endsWith(file))).toMatch(/^file\s+100 B\s+\d+\s+alive/);

  const json = JSON.parse(run('ls', '--json').out) as { kind: string; id: string; size: number; pid: number; alive: boolean }[];
  expect(json.find((o) => o.id === name)).toMatchObject({ kind: 'posix', size: 8192, pid: process.pid, alive: true });

  p.close();
  s.close();
  f.close();
  const rm = run('rm', name, `0x${key.toString(16)}`, file);
  expect(rm.status).toBe(0);
  expect(rm.out).toContain(`removed posix ${name}`);
  expect(rm.out).toContain(`removed sysv ${key}`);
  expect(rm.out).toContain(`removed file ${file}`);
  expect(fs.existsSync(`/dev/shm${name}`)).toBe(false);
  expect(fs.existsSync(file)).toBe(false);
  expect(run('ls').out).toMatch(/^no objects/);
});

test('ls drops records of objects removed by other means; rm --dead removes orphans only', () => {
  const gone = uniqueName();
  IPCBuffer.posix(gone, 10).close();
  fs.rmSync(`/dev/shm${gone}`);
  const dead = uniqueName();
  const live = uniqueName();
  IPCBuffer.posix(dead, 10).close();
  IPCBuffer.posix(live, 10).close();
  orphan(dead);
  const ls = run('ls');
  expect(ls.out).not.toContain(gone);
  expect(ls.out.split('\n').find((l) => l.endsWith(dead))).toMatch(/\bdead\b/);
  const rm = run('rm', '--dead');
  expect(rm.status).toBe(0);
  expect(rm.out).toBe(`removed posix ${dead}\n`);
  expect(fs.existsSync(`/dev/shm${live}`)).toBe(true);
  expect(run('rm', `*${live}`).status).toBe(0);
  expect(run('rm', '--dead').out).toBe('no objects of dead creators\n');
});

test('rm reports what it cannot remove, refuses unregistered files, exits 1', () => {
  const stranger = uniquePath();
  fs.writeFileSync(stranger, 'not ours');
  const r = run('rm', '/ipcbuffer-test-missing', stranger);
  expect(r.status).toBe(1);
  expect(r.err).toMatch(/cannot remove \/ipcbuffer-test-missing: ENOENT.*nothing to remove/);
  expect(r.err).toMatch(/was not created by ipcbuffer/);
  expect(fs.existsSync(stranger)).toBe(true);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack traces
});

test.each([[[]], [['frobnicate']], [['ls', 'extra']], [['rm']], [['rm', '--dead', 'x']], [['rm', '--frobnicate', 'x']], [['rm', '--force']]])('usage error %j exits 2', (argv) => {
  const r = run(...argv);
  expect(r.status).toBe(2);
  expect(r.err).toMatch(/^ipcbuffer: .*\nTry 'ipcbuffer --help'.\n$/);
});

test('a negative System V key is an object to remove, not an option', () => {
  const r = run('rm', '-5');
  expect(r.status).toBe(1);
  expect(r.err).toMatch(/^ipcbuffer: cannot remove -5: ENOENT/);
});

test('help', () => {
  expect(run('help')).toMatchObject({ status: 0, out: expect.stringMatching(/^Usage: ipcbuffer/) });
});

test('parseTarget', () => {
  expect(parseTarget('1234', [])).toEqual({ kind: 'sysv', key: 1234 });
  expect(parseTarget('0x4D2', [])).toEqual({ kind: 'sysv', key: 1234 });
  expect(parseTarget('-5', [])).toEqual({ kind: 'sysv', key: -5 });
  expect(parseTarget('/name', [])).toEqual({ kind: 'posix', name: '/name' });
  expect(parseTarget('*name', [])).toEqual({ kind: 'posix', name: 'name' });
  expect(parseTarget('/data', [{ kind: 'file', id: '/data', size: 1, pid: 1, start: 1, created: 1 }])).toEqual({ kind: 'file', path: '/data' });
  expect(parseTarget('rel/file', [])).toEqual({ kind: 'file', path: path.resolve('rel/file') });
});

test('an unsafe registry (symlink or group-writable) is refused, never read', () => {
  const saved = process.env['SHMKIT_IPCBUFFER_REGISTRY'];
  const real = path.join(tmp, 'elsewhere');
  fs.mkdirSync(real, { mode: 0o700 });
  fs.writeFileSync(path.join(real, 'file-x.json'), JSON.stringify({ kind: 'file', id: '/etc/passwd', size: 1, pid: 2 ** 22 + 1, start: 1, created: 1 }));
  const link = path.join(tmp, 'link');
  fs.symlinkSync(real, link);
  try {
    process.env['SHMKIT_IPCBUFFER_REGISTRY'] = link;
    for (const argv of [['ls'], ['rm', '--dead']]) {
      const r = run(...argv);
      expect(r.status).toBe(1);
      expect(r.err).toMatch(/registry .* is not a directory that only uid \d+ can write/);
    }
    fs.chmodSync(real, 0o770);
    process.env['SHMKIT_IPCBUFFER_REGISTRY'] = real;
    expect(run('ls').status).toBe(1);
    // Recording into an unsafe registry is skipped; the buffer itself still works.
    const name = uniqueName();
    const b = IPCBuffer.posix(name, 10);
    b.close();
    IPCBuffer.unlink(name);
    expect(fs.readdirSync(real)).toEqual(['file-x.json']);
  } finally {
    process.env['SHMKIT_IPCBUFFER_REGISTRY'] = saved;
  }
});
