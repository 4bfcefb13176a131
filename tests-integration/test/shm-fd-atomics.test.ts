import fs from 'node:fs';

import { SharedFd } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { killAll, run, start, until } from './helpers/proc';

afterEach(killAll);

const prelude = `const { SharedFd } = require('@shmkit/shm-fd'); const sys = require('@shmkit/shm-fd/sys');
const s = new SharedFd(3); const m = s.map(); const w = m.int32(0, 4);`;

describe('one memfd mapped by several processes', () => {
  it('Atomics.add from two processes loses no increment', async () => {
    using shared = SharedFd.create({ size: 4096 });
    const child = `${prelude} for (let i = 0; i < 200000; i++) Atomics.add(w, 0, 1); m.close(); s.close();`;
    const opts = { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe', shared.fd] as ['ignore', 'pipe', 'pipe', number] };
    const [a, b] = await Promise.all([run(['-e', child], opts), run(['-e', child], opts)]);
    expect([a.status, b.status]).toEqual([0, 0]);
    using m = shared.map();
    expect(Atomics.load(m.int32(0, 1), 0)).toBe(400000);
  });

  it('futexWake in one process wakes futexWait in another', async () => {
    using shared = SharedFd.create({ size: 4096 });
    using m = shared.map();
    const word = m.int32(4, 1);
    const child = `${prelude} console.log('waiting'); const r = sys.futexWait(w, 1, 0, 60000); console.log(r + ' ' + Atomics.load(w, 1));`;
    const p = start(['-e', child], { cwd: __dirname, stdio: ['ignore', 'pipe', 'pipe', shared.fd] });
    await p.waitFor('waiting');
    // Wake only once the child's main thread sleeps in the kernel's futex wait.
    const wchan = () => fs.readFileSync(`/proc/${p.child.pid}/wchan`, 'utf8');
    await until(() => wchan().includes('futex'), 10000, 'the child to sleep on the futex');
    Atomics.store(word, 0, 7);
    expect(sys.futexWake(word, 0)).toBe(1);
    await p.waitFor('ok 7', 5000);
    expect((await p.exited).status).toBe(0);
  });
});

describe('spawnWithSharedFd', () => {
  it('passes a SharedFd to a child exactly as shm-fd does', async () => {
    const { spawnWithSharedFd } = await import('@shmkit/shm-fd');
    using shared = SharedFd.create({ size: 4096 });
    using m = shared.map();
    m.buffer.write('from the parent');
    const child = spawnWithSharedFd(shared, '/usr/bin/python3', ['-c', `import os; print(os.environ["LISTEN_PID"] == str(os.getpid()), os.environ["LISTEN_FDNAMES"], os.pread(3, 15, 0).decode()); os.pwrite(3, b"from the child", 100)`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(0);
    expect(out.trim()).toBe('True SHM_SHARED_FD from the parent');
    expect(m.buffer.toString('utf8', 100, 114)).toBe('from the child');
  });
});
