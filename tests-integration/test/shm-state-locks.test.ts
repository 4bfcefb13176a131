// Multi-process tests of @shmkit/shm-state locks (built dist).

import type { SharedFd } from '@shmkit/shm-fd';
import { Mutex } from '@shmkit/shm-state';

import { killGroup } from './helpers/proc';
import { BASE, role, useStateFile } from './shm-state-helpers';

const newFile = useStateFile();

function setup(): { file: string; shared: SharedFd } {
  const { file, shared } = newFile(BASE + 4096);
  const m = shared.map();
  Mutex.create(m.buffer, { offset: BASE });
  m.close();
  return { file, shared };
}

describe('Mutex across processes', () => {
  it('4 processes × 100,000 plain increments under the lock: exact total', async () => {
    const { file, shared } = setup();
    const procs = [0, 1, 2, 3].map(() => role(file, 'mutex-add', '100000'));
    const st = await Promise.all(procs.map((p) => p.exited));
    expect(st.map((s) => s.status)).toEqual([0, 0, 0, 0]);
    for (const p of procs) expect(p.stdout()).toContain('done {"ownerDead":0}');
    using m = shared.map();
    expect(m.buffer.readUInt32LE(4)).toBe(400_000);
    shared.close();
  }, 180_000);

  it.each(['sync', 'async'])('SIGKILL of the holder: the next %s locker takes over with ownerDead', async (mode) => {
    const { file, shared } = setup();
    const holder = role(file, 'mutex-hold');
    await holder.waitFor('holding {"ownerDead":false}');
    const next = role(file, 'mutex-lock', mode);
    await next.waitFor('ready');
    killGroup(holder.child, 'SIGKILL');
    await holder.exited;
    await next.waitFor('locked', 10_000);
    expect(next.stdout()).toContain(`locked {"ownerDead":true,"counter":${0xdead}}`);
    expect((await next.exited).status).toBe(0);
    // It marked the data consistent: the next locker is not warned again.
    const after = role(file, 'mutex-lock', 'sync');
    await after.exited;
    expect(after.stdout()).toContain('locked {"ownerDead":false');
    using m = shared.map();
    expect(Mutex.open(m.buffer, { offset: BASE }).recoveries).toBe(1);
    shared.close();
  }, 60_000);

  it('an async locker is woken by an unlock in another process', async () => {
    const { file, shared } = setup();
    using m = shared.map();
    const mu = Mutex.open(m.buffer, { offset: BASE });
    const g = mu.tryLock();
    expect(g).not.toBeNull();
    const next = role(file, 'mutex-lock', 'async');
    await next.waitFor('ready');
    g?.unlock();
    await next.waitFor('locked {"ownerDead":false', 5000);
    expect((await next.exited).status).toBe(0);
    shared.close();
  });
});
