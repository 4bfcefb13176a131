// Named Mutex and Semaphore across 4 real processes (sync and async
// acquirers mixed), and recovery after the holder is killed with SIGKILL.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { IPCBuffer, Mutex, Semaphore } from '@shmkit/ipcbuffer';

import { killAll, killGroup, start, type Proc } from './helpers/proc';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ipcbuffer-locks-'));
const env = { ...process.env, SHMKIT_IPCBUFFER_REGISTRY: path.join(tmp, 'registry') };
process.env['SHMKIT_IPCBUFFER_REGISTRY'] = env.SHMKIT_IPCBUFFER_REGISTRY;
const opts = { cwd: __dirname, env };

let n = 0;
const name = (what: string) => `/ipcbuffer-${what}-${process.pid}-${++n}`;
const undo: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  while (undo.length > 0) {
    try {
      undo.pop()?.();
    } catch {
      // already gone
    }
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Shared test data: [0] go flag, [1] counter, [2] inside now, [3] most inside at once, [4] violations. */
function data(): { buf: IPCBuffer; words: Int32Array; nm: string } {
  const nm = name('data');
  const buf = IPCBuffer.posix(nm, 4096);
  undo.push(() => { buf.close(); IPCBuffer.unlink(nm); });
  return { buf, words: new Int32Array(buf.buffer, buf.byteOffset, 8), nm };
}

// Child prelude: open the data, report readiness, wait (bounded) for the go flag.
const prelude = (dataName: string) => `
const { IPCBuffer, Mutex, Semaphore } = require('@shmkit/ipcbuffer');
const d = IPCBuffer.posix(${JSON.stringify(dataName)});
const w = new Int32Array(d.buffer, d.byteOffset, 8);
const enter = (limit) => { const now = Atomics.add(w, 2, 1) + 1; if (now > limit) Atomics.add(w, 4, 1);
  for (let m = Atomics.load(w, 3); now > m && Atomics.compareExchange(w, 3, m, now) !== m; m = Atomics.load(w, 3)); };
const leave = () => Atomics.sub(w, 2, 1);
const waitGo = () => { const end = Date.now() + 30000; while (Atomics.load(w, 0) === 0) if (Date.now() > end) throw new Error('no go'); };
`;

async function allExit(procs: Proc[]): Promise<void> {
  const results = await Promise.all(procs.map((p) => p.exited));
  results.forEach((r, i) => {
    if (r.status !== 0) throw new Error(`child ${i} exited ${r.status}\n${procs[i]?.stdout()}\n${procs[i]?.stderr()}`);
  });
}

describe('Mutex across 4 processes', () => {
  it('excludes: a non-atomic read-modify-write loses no update, sync and async mixed', async () => {
    const d = data();
    const mname = name('mutex');
    undo.push(() => Mutex.unlink(mname));
    const N = 300;
    const sync = `${prelude(d.nm)} const m = Mutex.open(${JSON.stringify(mname)}); console.log('ready'); waitGo();
      for (let i = 0; i < ${N}; i++) { m.lockSync(20000); enter(1); const v = d.readUInt32LE(4); for (let k = 0; k < 200; k++); d.writeUInt32LE(v + 1, 4); leave(); m.unlock(); }
      m.close(); d.close(); console.log('done');`;
    const asyncChild = `${prelude(d.nm)} const m = Mutex.open(${JSON.stringify(mname)}); console.log('ready'); waitGo();
      (async () => { for (let i = 0; i < ${N}; i++) { await m.lock({ timeoutMs: 20000 }); enter(1); const v = d.readUInt32LE(4);
        await new Promise((r) => setImmediate(r)); d.writeUInt32LE(v + 1, 4); leave(); m.unlock(); }
        m.close(); d.close(); console.log('done'); })().catch((e) => { console.error(e); process.exit(1); });`;
    const procs = [sync, asyncChild, sync, asyncChild].map((code) => start(['-e', code], opts));
    await Promise.all(procs.map((p) => p.waitFor('ready')));
    Atomics.store(d.words, 0, 1);
    await allExit(procs);
    expect(d.buf.readUInt32LE(4)).toBe(4 * N);
    expect(Atomics.load(d.words, 4)).toBe(0); // never two holders at once
    expect(Atomics.load(d.words, 3)).toBe(1);
  });

  it('recovers when the holder is killed: exactly one waiter takes over, all finish', async () => {
    const d = data();
    const mname = name('mutex');
    undo.push(() => Mutex.unlink(mname));
    const holder = start(['-e', `${prelude(d.nm)} const m = Mutex.open(${JSON.stringify(mname)}); m.lockSync(); console.log('holding'); setInterval(() => {}, 1000);`], opts);
    await holder.waitFor('holding');
    const waiter = (mode: 'sync' | 'async') => `${prelude(d.nm)} const m = Mutex.open(${JSON.stringify(mname)});
      const after = () => { console.log('acquired recovered=' + m.recovered); d.writeUInt32LE(d.readUInt32LE(4) + 1, 4); m.unlock(); m.close(); d.close(); };
      console.log('waiting');
      ${mode === 'sync' ? 'm.lockSync(20000); after();' : "m.lock({ timeoutMs: 20000 }).then(after, (e) => { console.error(e); process.exit(1); });"}`;
    const waiters = [waiter('async'), waiter('sync'), waiter('async')].map((code) => start(['-e', code], opts));
    await Promise.all(waiters.map((p) => p.waitFor('waiting')));
    killGroup(holder.child, 'SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    await allExit(waiters);
    const lines = waiters.map((p) => p.stdout().match(/acquired recovered=(true|false)/)?.[1]);
    expect(lines.filter((l) => l === 'true')).toHaveLength(1);
    expect(lines.filter((l) => l === 'false')).toHaveLength(2);
    expect(d.buf.readUInt32LE(4)).toBe(3);
    using m = Mutex.open(mname);
    expect([m.holder, m.recoveries]).toEqual([0, 1]);
  });
});

describe('Mutex between threads of one process', () => {
  it('ownership is per thread: a worker blocks in lockSync until the main thread unlocks', async () => {
    const mname = name('mutex');
    undo.push(() => Mutex.unlink(mname));
    const code = `
      const { Worker } = require('node:worker_threads');
      const { Mutex } = require('@shmkit/ipcbuffer');
      const m = Mutex.open(${JSON.stringify(mname)});
      (async () => {
        await m.lock();
        const w = new Worker(\`
          const { parentPort } = require('node:worker_threads');
          const { Mutex } = require('@shmkit/ipcbuffer');
          const m = Mutex.open(${JSON.stringify(mname)});
          parentPort.postMessage('trying');
          m.lockSync(10000);
          parentPort.postMessage('worker holds it, holder is not the process: ' + (m.holder !== process.pid));
          m.unlock(); m.close();\`, { eval: true });
        w.on('message', (msg) => {
          console.log(msg);
          if (msg === 'trying') setTimeout(() => { console.log('main unlocks'); m.unlock(); }, 200);
        });
        w.on('exit', async () => { await m.lock({ timeoutMs: 1000 }); m.unlock(); m.close(); console.log('done'); });
      })();`;
    const p = start(['-e', code], opts);
    expect((await p.exited).status).toBe(0);
    expect(p.stdout()).toBe('trying\nmain unlocks\nworker holds it, holder is not the process: true\ndone\n');
  });
});

describe('Mutex held by a worker thread that exits', () => {
  it('is taken over by the main thread of the same, still running, process', async () => {
    const mname = name('mutex');
    undo.push(() => Mutex.unlink(mname));
    const code = `
      const { Worker } = require('node:worker_threads');
      const diagnostics = require('node:diagnostics_channel');
      const { Mutex } = require('@shmkit/ipcbuffer');
      diagnostics.subscribe('ipcbuffer:lock:recovered', (e) => console.log('event dead=' + e.deadHolder + ' by=' + (e.by === process.pid)));
      const m = Mutex.open(${JSON.stringify(mname)});
      const w = new Worker(\`
        const { parentPort } = require('node:worker_threads');
        const { Mutex } = require('@shmkit/ipcbuffer');
        const m = Mutex.open(${JSON.stringify(mname)});
        m.lockSync();
        parentPort.postMessage(m.holder);\`, { eval: true }); // exits without unlocking
      let tid = 0;
      w.on('message', (t) => { tid = t; });
      w.on('exit', async () => {
        console.log('worker gone, holder is its thread: ' + (m.holder === tid && tid !== process.pid));
        await m.lock({ timeoutMs: 5000 });
        console.log('main took it over: recovered=' + m.recovered + ' holder=' + (m.holder === process.pid) + ' dead=' + tid);
        m.unlock(); m.close();
      });`;
    const p = start(['-e', code], opts);
    expect((await p.exited).status).toBe(0);
    const tid = /dead=(\d+)\n$/.exec(p.stdout())?.[1];
    expect(p.stdout()).toBe(`worker gone, holder is its thread: true\nevent dead=${tid} by=true\nmain took it over: recovered=true holder=true dead=${tid}\n`);
  });
});

describe('Semaphore across 4 processes', () => {
  it('never admits more than its permits', async () => {
    const d = data();
    const sname = name('sem');
    undo.push(() => Semaphore.unlink(sname));
    using created = Semaphore.open(sname, { initial: 2 });
    const N = 150;
    const sync = `${prelude(d.nm)} const s = Semaphore.open(${JSON.stringify(sname)}); console.log('ready'); waitGo();
      for (let i = 0; i < ${N}; i++) { s.acquireSync({ timeoutMs: 20000 }); enter(2); for (let k = 0; k < 2000; k++); Atomics.add(w, 1, 1); leave(); s.release(); }
      s.close(); d.close(); console.log('done');`;
    const asyncChild = `${prelude(d.nm)} const s = Semaphore.open(${JSON.stringify(sname)}); console.log('ready'); waitGo();
      (async () => { for (let i = 0; i < ${N}; i++) { await s.withPermit(async () => { enter(2); await new Promise((r) => setImmediate(r)); Atomics.add(w, 1, 1); leave(); }, { timeoutMs: 20000 }); }
        s.close(); d.close(); console.log('done'); })().catch((e) => { console.error(e); process.exit(1); });`;
    const procs = [sync, asyncChild, sync, asyncChild].map((code) => start(['-e', code], opts));
    await Promise.all(procs.map((p) => p.waitFor('ready')));
    Atomics.store(d.words, 0, 1);
    await allExit(procs);
    expect(Atomics.load(d.words, 1)).toBe(4 * N);
    expect(Atomics.load(d.words, 4)).toBe(0);
    expect(Atomics.load(d.words, 3)).toBeLessThanOrEqual(2);
    expect(created.value).toBe(2);
  });

  it('gives a killed holder\'s permits back to the waiters', async () => {
    const d = data();
    const sname = name('sem');
    undo.push(() => Semaphore.unlink(sname));
    using created = Semaphore.open(sname, { initial: 2 });
    const holder = start(['-e', `${prelude(d.nm)} const s = Semaphore.open(${JSON.stringify(sname)}); s.acquireSync({ permits: 2 }); console.log('holding'); setInterval(() => {}, 1000);`], opts);
    await holder.waitFor('holding');
    expect(created.value).toBe(0);
    const waiter = (mode: 'sync' | 'async') => `${prelude(d.nm)} const s = Semaphore.open(${JSON.stringify(sname)}); console.log('waiting');
      const after = () => { console.log('acquired'); s.release(); s.close(); d.close(); };
      ${mode === 'sync' ? 's.acquireSync({ timeoutMs: 20000 }); after();' : "s.acquire({ timeoutMs: 20000 }).then(after, (e) => { console.error(e); process.exit(1); });"}`;
    const waiters = [waiter('sync'), waiter('async'), waiter('async')].map((code) => start(['-e', code], opts));
    await Promise.all(waiters.map((p) => p.waitFor('waiting')));
    killGroup(holder.child, 'SIGKILL');
    await holder.exited;
    await allExit(waiters);
    expect(waiters.every((p) => p.stdout().includes('acquired'))).toBe(true);
    // Both permits are acquirable again (one may still carry the dead pid
    // until someone takes it over, which this does).
    expect(created.recoveries).toBeGreaterThanOrEqual(1);
    expect(created.tryAcquire(2)).toBe(true);
    created.release(2);
    expect(created.value).toBe(2);
  });
});
