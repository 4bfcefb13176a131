// IPCBuffer across real processes: posix, sysv, file and anonymous-with-fd;
// file content after exit and after SIGKILL; permissions; the ipcbuffer CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { IPCBuffer } from '@shmkit/ipcbuffer';
import * as sys from '@shmkit/shm-fd/sys';

import { bin, killAll, killGroup, run, start } from './helpers/proc';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcbuffer-it-'));
fs.chmodSync(tmp, 0o755); // the permission tests run a child as nobody
const registry = path.join(tmp, 'registry');
process.env['SHMKIT_IPCBUFFER_REGISTRY'] = registry;
const env = { ...process.env, SHMKIT_IPCBUFFER_REGISTRY: registry };
const opts = { cwd: __dirname, env };
const cli = bin('ipcbuffer', 'ipcbuffer');

let n = 0;
const name = () => `/ipcbuffer-it-${process.pid}-${++n}`;
const key = () => 0x4c000000 + ((process.pid & 0xffff) << 8) + (++n & 0xff);

const undo: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  while (undo.length > 0) {
    try {
      undo.pop()?.();
    } catch {
      // already removed by the test
    }
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const prelude = "const { IPCBuffer } = require('@shmkit/ipcbuffer');";

describe('two processes share one buffer', () => {
  it('posix: the child sees the parent\'s writes and the parent sees the child\'s', async () => {
    const nm = name();
    const b = IPCBuffer(4096, `*${nm}`);
    undo.push(() => { b.close(); IPCBuffer.unlink(nm); });
    b.write('from parent');
    const r = await run(['-e', `${prelude} const b = IPCBuffer.posix(${JSON.stringify(nm)}); console.log(b.toString('utf8', 0, 11), b.length, b.created); b.write('from child', 100); b.close();`], opts);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('from parent 4096 false');
    expect(b.toString('utf8', 100, 110)).toBe('from child');
  });

  it('sysv: by numeric key, through the original constructor form', async () => {
    const k = key();
    const b = IPCBuffer(10000, k);
    undo.push(() => { b.close(); IPCBuffer.removeSysv(k); });
    b.writeUInt32LE(0xfeedface, 9996);
    const r = await run(['-e', `${prelude} const b = new IPCBuffer(10000, ${k}); console.log(b.readUInt32LE(9996).toString(16), b.created); b.writeUInt32LE(7, 0); b.close();`], opts);
    expect(r.stdout.trim()).toBe('feedface false');
    expect(b.readUInt32LE(0)).toBe(7);
  });

  it('anonymous: a memfd passed as fd 3, live in both directions', async () => {
    const b = IPCBuffer.anonymous(4096);
    undo.push(() => b.close());
    const words = new Int32Array(b.buffer, b.byteOffset, 4);
    // Handshake through shared words (Atomics, polled with a deadline): the child publishes
    // readiness, the parent writes a value after that, the child echoes it back.
    const child = `${prelude} const b = IPCBuffer.fromFd(3); const w = new Int32Array(b.buffer, b.byteOffset, 4);
      Atomics.store(w, 0, 1); console.log('ready ' + b.kind + ' ' + b.length);
      const end = Date.now() + 20000; while (Atomics.load(w, 1) === 0) { if (Date.now() > end) { console.error('no value'); process.exit(1); } }
      Atomics.store(w, 2, Atomics.load(w, 1) * 2); b.close();`;
    const p = start(['-e', child], { ...opts, stdio: ['ignore', 'pipe', 'pipe', b.fd as number] });
    await p.waitFor('ready anonymous 4096');
    expect(Atomics.load(words, 0)).toBe(1);
    Atomics.store(words, 1, 21);
    expect((await p.exited).status).toBe(0);
    expect(Atomics.load(words, 2)).toBe(42);
  });

  it('file: two processes map the same file and see each other\'s writes before any sync', async () => {
    const file = path.join(tmp, 'shared.bin');
    const b = IPCBuffer.file(file, 8192);
    undo.push(() => b.close());
    b.write('parent wrote this', 4000);
    const r = await run(['-e', `${prelude} const b = IPCBuffer.file(${JSON.stringify(file)}); console.log(b.toString('utf8', 4000, 4017)); b.write('child', 0); b.close();`], opts);
    expect(r.stdout.trim()).toBe('parent wrote this');
    expect(b.toString('utf8', 0, 5)).toBe('child');
  });
});

describe('file-backed content on disk', () => {
  it('is in the file after the writer exits without close()', async () => {
    const file = path.join(tmp, 'exit.bin');
    const r = await run(['-e', `${prelude} const b = IPCBuffer(1 << 20, ${JSON.stringify(file)}); b.fill('x'); b.write('the end', (1 << 20) - 7); console.log('written');`], opts);
    expect(r.stdout.trim()).toBe('written');
    const data = fs.readFileSync(file);
    expect(data.length).toBe(1 << 20);
    expect(data.toString('latin1', 0, 3)).toBe('xxx');
    expect(data.toString('latin1', (1 << 20) - 7)).toBe('the end');
  });

  it('is in the file after a SIGKILL that followed sync()', async () => {
    const file = path.join(tmp, 'killed.bin');
    const child = `${prelude} const b = IPCBuffer.file(${JSON.stringify(file)}, 65536); b.write('durable', 60000); b.sync(); console.log('synced'); setInterval(() => {}, 1000);`;
    const p = start(['-e', child], opts);
    await p.waitFor('synced');
    killGroup(p.child, 'SIGKILL');
    expect((await p.exited).signal).toBe('SIGKILL');
    expect(fs.readFileSync(file).toString('latin1', 60000, 60007)).toBe('durable');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('permissions: objects are 0600, another user gets EACCES', () => {
  // As root: create 0600 and probe as nobody (root itself bypasses modes).
  // Otherwise: create 0400 and probe as ourselves, asking for read-write.
  const asRoot = process.getuid?.() === 0;
  it(`posix, file and sysv refuse access without permission (${asRoot ? 'another uid' : 'mode 0400'})`, async () => {
    const nm = name();
    const k = key();
    const file = path.join(tmp, 'private.bin');
    const mode = asRoot ? 0o600 : 0o400;
    fs.writeFileSync(file, Buffer.alloc(4096), { mode });
    const p = IPCBuffer.posix(nm, 4096);
    // IPCBuffer attaches read-write, so a 0400 segment is made with the raw call.
    const s = asRoot ? IPCBuffer.sysv(k, 4096) : undefined;
    if (!asRoot) sys.shmget(k, 4096, sys.constants.IPC_CREAT | 0o400);
    undo.push(() => { p.close(); s?.close(); IPCBuffer.unlink(nm); IPCBuffer.removeSysv(k); });
    if (!asRoot) fs.chmodSync(`/dev/shm${nm}`, 0o400);
    expect(fs.statSync(`/dev/shm${nm}`).mode & 0o777).toBe(mode);
    const probe = `${prelude} for (const [what, fn] of [['posix', () => IPCBuffer.posix(${JSON.stringify(nm)})], ['sysv', () => IPCBuffer.sysv(${k})], ['file', () => IPCBuffer.file(${JSON.stringify(file)})]]) {
      try { fn(); console.log(what + ' opened'); } catch (e) { console.log(what + ' ' + e.code + ' ' + e.message); } }`;
    const r = asRoot
      ? await run(['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', probe], { ...opts, cmd: 'setpriv' })
      : await run(['-e', probe], opts);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^posix EACCES .*belongs to another user or its mode forbids/);
    expect(lines[1]).toMatch(/^sysv EACCES .*belongs to another user or its mode forbids/);
    expect(lines[2]).toMatch(/^file EACCES .*not writable by this user; check its permissions/);
  });
});

describe('ipcbuffer CLI across processes', () => {
  it('ls shows the creator alive while it runs and dead after; rm --dead removes', async () => {
    const nm = name();
    const k = key();
    const child = `${prelude} IPCBuffer.posix(${JSON.stringify(nm)}, 12345); IPCBuffer.sysv(${k}, 5000); console.log('created ' + process.pid); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`;
    const p = start(['-e', child], { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    undo.push(() => { try { IPCBuffer.unlink(nm); } finally { IPCBuffer.removeSysv(k); } });
    const pid = Number((await p.waitFor(/created \d+/)).split(' ')[1]);
    let ls = await run([cli, 'ls'], opts);
    expect(ls.status).toBe(0);
    const row = (text: string, what: string) => text.split('\n').find((l) => l.includes(what)) ?? '';
    expect(row(ls.stdout, nm)).toMatch(new RegExp(`^posix\\s+12.1 KiB\\s+${pid}\\s+alive\\s+-\\s+${nm}$`));
    expect(row(ls.stdout, `${k} (0x`)).toMatch(new RegExp(`^sysv\\s+4.9 KiB\\s+${pid}\\s+alive\\s+1\\s+`));
    p.child.stdin?.end();
    expect((await p.exited).status).toBe(0);
    ls = await run([cli, 'ls', '--json'], opts);
    const objs = JSON.parse(ls.stdout) as { id: string; alive: boolean; attached?: number }[];
    expect(objs.find((o) => o.id === nm)).toMatchObject({ alive: false });
    expect(objs.find((o) => o.id === String(k))).toMatchObject({ alive: false, attached: 0 });
    const rm = await run([cli, 'rm', '--dead'], opts);
    expect(rm.status).toBe(0);
    expect(rm.stdout).toContain(`removed posix ${nm}`);
    expect(rm.stdout).toContain(`removed sysv ${k}`);
    expect(fs.existsSync(`/dev/shm${nm}`)).toBe(false);
    const after = (await run([cli, 'ls'], opts)).stdout;
    expect(after).not.toContain(nm);
    expect(after).not.toContain(`${k} (0x`);
  });

  it('exit status 2 for usage errors and 1 for objects that cannot be removed, no stack traces', async () => {
    const usage = await run([cli, 'bogus'], opts);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^ipcbuffer: unknown command "bogus"/);
    const missing = await run([cli, 'rm', '/ipcbuffer-it-none'], opts);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});
