// Every constructor form of node-ipcbuffer, with and without `new`, and the
// typed API's semantics (creation, reopening, growth, close, registry).
import fs from 'node:fs';
import path from 'node:path';

import { IPCBuffer, registryDir } from '../src';

import { cleanup, kinds, removeTmp, tmp, uniqueKey, uniqueName, uniquePath } from './kinds';

const undo: (() => void)[] = [];
afterEach(() => {
  while (undo.length > 0) undo.pop()?.();
  cleanup();
});
afterAll(removeTmp);

function later(fn: () => void): void {
  undo.push(fn);
}

describe('constructor forms', () => {
  test.each([
    ['call', (...a: unknown[]) => (IPCBuffer as unknown as (...x: unknown[]) => IPCBuffer)(...a)],
    ['new', (...a: unknown[]) => new (IPCBuffer as unknown as new (...x: unknown[]) => IPCBuffer)(...a)],
  ])('in-process forms (%s)', (_how, make) => {
    const b = make(10);
    expect(Buffer.isBuffer(b)).toBe(true);
    expect(b instanceof IPCBuffer).toBe(true);
    expect([b.kind, b.length, b.encoding, b.closed]).toEqual(['memory', 10, 'utf8', false]);
    expect(b.every((x: number) => x === 0)).toBe(true);

    const e = make(4, 'hex');
    expect([e.kind, e.length, e.encoding]).toEqual(['memory', 4, 'hex']);

    const parent = Buffer.from('0123456789');
    const whole = make(parent, 10);
    const chunk = make(parent, 3, 2);
    const withEnc = make(parent, 2, 'ascii', 7);
    expect(whole.toString()).toBe('0123456789');
    expect(chunk.toString()).toBe('234');
    expect(withEnc.toString()).toBe('78');
    chunk[0] = 0x41; // an alias shares the parent's memory
    expect(parent.toString()).toBe('01A3456789');
    expect(whole.toString()).toBe('01A3456789');
    expect(make(parent, 0, 10).length).toBe(0);

    const copy = make(parent); // like Buffer(buffer): a copy
    copy[0] = 0x5a;
    expect(parent[0]).toBe(0x30);
    expect(make('héllo').toString()).toBe('héllo');
    expect(make('aGk=', 'base64').toString()).toBe('hi');
    expect([...make([1, 2, 300])]).toEqual([1, 2, 44]);
    const ab = new ArrayBuffer(8);
    const view = make(ab, 2, 4);
    view[0] = 9;
    expect(new Uint8Array(ab)[2]).toBe(9);
  });

  test.each([
    ['call', (...a: unknown[]) => (IPCBuffer as unknown as (...x: unknown[]) => IPCBuffer)(...a)],
    ['new', (...a: unknown[]) => new (IPCBuffer as unknown as new (...x: unknown[]) => IPCBuffer)(...a)],
  ])('shared forms (%s)', (_how, make) => {
    const name = uniqueName();
    const p = make(100, `*${name}`);
    later(() => { p.close(); IPCBuffer.unlink(name); });
    expect([p.kind, p.name, p.length, p.created]).toEqual(['posix', name, 100, true]);
    expect(fs.existsSync(`/dev/shm${name}`)).toBe(true);
    expect(fs.statSync(`/dev/shm${name}`).mode & 0o777).toBe(0o600);

    const pe = make(100, 'base64', `*${name}`);
    later(() => pe.close());
    expect([pe.kind, pe.created, pe.encoding]).toEqual(['posix', false, 'base64']);
    p.write('shared');
    expect(pe.toString('utf8', 0, 6)).toBe('shared');

    const file = uniquePath();
    const f = make(50, file);
    later(() => f.close());
    expect([f.kind, f.path, f.length, f.created]).toEqual(['file', file, 50, true]);
    expect(fs.statSync(file).size).toBe(50);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const fe = make(50, 'latin1', file);
    later(() => fe.close());
    expect([fe.kind, fe.created, fe.encoding]).toEqual(['file', false, 'latin1']);

    const key = uniqueKey();
    const s = make(5000, key);
    later(() => { s.close(); IPCBuffer.removeSysv(key); });
    expect([s.kind, s.key, s.length, s.created]).toEqual(['sysv', key, 5000, true]);
    expect(typeof s.id).toBe('number');
    const se = make(4000, 'utf8', key);
    later(() => se.close());
    expect([se.kind, se.created, se.length, se.id]).toEqual(['sysv', false, 4000, s.id]);
    s[3999] = 7;
    expect(se[3999]).toBe(7);

    // An alias of a shared buffer keeps its kind and name and owns nothing.
    const a = make(p, 10, 'utf8', 2);
    expect([a.kind, a.name, a.toString('utf8', 0, 4)]).toEqual(['posix', name, 'ared']);
    a.close();
    expect(p.closed).toBe(false);
    a.sync();
  });

  test('an encoding name wins over a file of that name; "./hex" is the file', () => {
    const b = IPCBuffer(4, 'hex');
    expect(b.kind).toBe('memory');
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      const f = IPCBuffer(4, './hex');
      later(() => { f.close(); fs.rmSync(path.join(tmp, 'hex')); });
      expect(f.kind).toBe('file');
    } finally {
      process.chdir(cwd);
    }
  });

  test('own extras are non-enumerable and read-only', () => {
    const name = uniqueName();
    const b = IPCBuffer.posix(name, 8);
    later(() => { b.close(); IPCBuffer.unlink(name); });
    expect(Object.keys(b)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(() => { (b as unknown as { kind: string }).kind = 'x'; }).toThrow(TypeError);
    expect(b.kind).toBe('posix');
    expect(Object.getOwnPropertyDescriptor(b, 'sync')?.enumerable).toBe(false);
    expect(typeof b[Symbol.dispose]).toBe('function');
    expect(IPCBuffer.isIPCBuffer(b)).toBe(true);
    expect(IPCBuffer.isIPCBuffer(Buffer.alloc(1))).toBe(false);
    expect(Buffer.alloc(1) instanceof IPCBuffer).toBe(false);
  });
});

describe('typed API', () => {
  test('posix: reopen, grow, open-only, exclusive, name forms', () => {
    const name = uniqueName();
    const a = IPCBuffer.posix(name.slice(1), 4096); // the leading slash is optional
    later(() => { a.close(); IPCBuffer.unlink(name); });
    expect(a.name).toBe(name);
    a.writeUInt32LE(0xcafe, 0);
    const b = IPCBuffer.posix(name); // no length: open the existing object at its size
    later(() => b.close());
    expect([b.length, b.created, b.readUInt32LE(0)]).toEqual([4096, false, 0xcafe]);
    const c = IPCBuffer.posix(name, 8192); // a bigger request grows the object
    later(() => c.close());
    expect(fs.statSync(`/dev/shm${name}`).size).toBe(8192);
    expect(c.readUInt32LE(0)).toBe(0xcafe);
    expect(() => IPCBuffer.posix(name, 10, { exclusive: true })).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    const m = IPCBuffer.posix(uniqueName(), 10, { mode: 0o640 });
    later(() => { m.close(); IPCBuffer.unlink(m.name as string); });
    expect(fs.statSync(`/dev/shm${m.name as string}`).mode & 0o777).toBe(0o640);
  });

  test('file: existing content, size from the file, growth, read-only copy-on-write', () => {
    const file = uniquePath();
    fs.writeFileSync(file, 'existing content');
    const a = IPCBuffer.file(file);
    later(() => a.close());
    expect([a.length, a.created, a.toString()]).toEqual([16, false, 'existing content']);
    a.write('E');
    a.sync();
    expect(fs.readFileSync(file, 'utf8')).toBe('Existing content');
    const g = IPCBuffer.file(file, 32);
    later(() => g.close());
    expect(fs.statSync(file).size).toBe(32);
    expect(g.toString('utf8', 0, 16)).toBe('Existing content');
    const r = IPCBuffer.file(file, 16, { readOnly: true });
    later(() => r.close());
    r.write('PRIVATE');
    expect(r.toString('utf8', 0, 7)).toBe('PRIVATE');
    expect(fs.readFileSync(file, 'utf8', ).slice(0, 8)).toBe('Existing');
    expect(a.toString('utf8', 0, 8)).toBe('Existing');
  });

  test('file: writes reach the file on sync() and close(), and plain reads see them', () => {
    const file = uniquePath();
    const f = IPCBuffer.file(file, 1 << 20);
    f.fill(0x61, 0, 1000);
    f.sync({ async: true });
    f.sync();
    expect(fs.readFileSync(file).subarray(0, 1000).every((x) => x === 0x61)).toBe(true);
    f.write('zzz', 5000);
    f.close();
    expect(f.closed).toBe(true);
    expect(fs.readFileSync(file, 'latin1').slice(5000, 5003)).toBe('zzz');
    expect(f[5000]).toBe(0); // closed: the view reads zeros, never crashes
    f[5000] = 1; // and writes go nowhere
    expect(fs.readFileSync(file, 'latin1').slice(5000, 5003)).toBe('zzz');
    expect(() => f.sync()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    f.close(); // idempotent
  });

  test('sysv: open without length, removeSysv while attached, negative and unsigned keys', () => {
    const key = uniqueKey();
    const a = IPCBuffer.sysv(key, 10000);
    later(() => a.close());
    const b = IPCBuffer.sysv(key);
    later(() => b.close());
    expect(b.length).toBe(10000);
    IPCBuffer.removeSysv(key);
    a[0] = 5; // attached processes keep the memory after removal
    expect(b[0]).toBe(5);
    expect(() => IPCBuffer.sysv(key)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const n = IPCBuffer.sysv(-key, 100);
    later(() => { n.close(); IPCBuffer.removeSysv(-key); });
    expect(n.key).toBe(-key);
    const u = IPCBuffer.sysv(0xfffffff0 - (process.pid & 0xff), 100);
    later(() => { u.close(); IPCBuffer.removeSysv(u.key as number); });
    expect(fs.readFileSync('/proc/sysvipc/shm', 'utf8')).toContain(String((u.key as number) | 0));
  });

  test('anonymous: owns a close-on-exec memfd; fromFd maps a received fd and takes it over', () => {
    const a = IPCBuffer.anonymous(1 << 16);
    later(() => a.close());
    expect(a.kind).toBe('anonymous');
    expect(fs.readlinkSync(`/proc/self/fd/${a.fd as number}`)).toMatch(/^\/memfd:ipcbuffer/);
    expect(() => fs.ftruncateSync(a.fd as number, 10)).toThrow(expect.objectContaining({ code: 'EPERM' })); // sealed: no SIGBUS for us
    const dupFd = fs.openSync(`/proc/self/fd/${a.fd as number}`, 'r+');
    const b = IPCBuffer.fromFd(dupFd);
    a.writeDoubleLE(2.5, 100);
    expect(b.readDoubleLE(100)).toBe(2.5);
    expect(b.fd).toBe(dupFd);
    b.close();
    expect(b.fd).toBe(-1);
    expect(() => fs.fstatSync(dupFd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
    const fd = a.fd as number;
    a.close();
    expect(() => fs.fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  test('sync() and sync({ async }) work on every kind and on aliases', () => {
    for (const [label, make] of kinds.slice(1)) {
      const b = make(8192) as IPCBuffer;
      b[0] = 1;
      expect(() => { b.sync(); b.sync({ async: true }); IPCBuffer(b, 100, 4000).sync(); }).not.toThrow();
      expect([label, b.closed]).toEqual([label, false]);
    }
  });

  test('Symbol.dispose closes', () => {
    const a = IPCBuffer.anonymous(100);
    a[Symbol.dispose]();
    expect(a.closed).toBe(true);
    const m = IPCBuffer(5);
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.sync()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
  });

  test('the registry records created objects 0600 and forgets removed ones', () => {
    const name = uniqueName();
    const b = IPCBuffer.posix(name, 64);
    const dir = registryDir();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    const mine = files.map((f) => [f, JSON.parse(fs.readFileSync(f, 'utf8')) as { id: string; pid: number; size: number }] as const).find(([, e]) => e.id === name);
    expect(mine?.[1]).toMatchObject({ kind: 'posix', id: name, pid: process.pid, size: 64 });
    expect(fs.statSync(mine?.[0] as string).mode & 0o777).toBe(0o600);
    b.close();
    IPCBuffer.unlink(name);
    expect(fs.existsSync(mine?.[0] as string)).toBe(false);
  });
});
