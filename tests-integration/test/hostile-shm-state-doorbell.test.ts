// A hostile process writes a Notifier slot naming another process's pipe as
// the doorbell to ring: the waker (this process, over the built package)
// must not open it unless that process runs under our uid and the caller's
// allowPeer accepts it.
import fs from 'node:fs';
import path from 'node:path';

import { Notifier } from '@shmkit/shm-state';

import { start } from './helpers/proc';
import { startBellTarget, type BellTarget } from './fixtures/hostile-shm-state/bell-target';
import { BASE, useStateFile } from './shm-state-helpers';

const PEER = path.join(__dirname, 'fixtures', 'hostile-shm-state', 'peer.js');
const isRoot = process.geteuid?.() === 0;
const newFile = useStateFile();
const targets: BellTarget[] = [];

afterEach(() => {
  for (const t of targets.splice(0)) t.remove();
});

/** A separate process writes slot `slot` of the notifier at BASE, naming the target's FIFO. */
async function forge(file: string, slot: number, target: BellTarget): Promise<void> {
  const p = start([PEER, 'forge', file, String(BASE), String(slot), String(target.pid), String(target.fd), String(target.ino)], { cwd: path.dirname(PEER) });
  await p.waitFor('forged');
  expect((await p.exited).status).toBe(0);
}

const ownFds = () => fs.readdirSync('/proc/self/fd').length;

test('a forged slot naming a same-uid process that allowPeer refuses is never opened; without the filter it is rung (the check can fail)', async () => {
  const target = await startBellTarget();
  targets.push(target);
  const { file, shared } = newFile(BASE + Notifier.byteLength);
  using m = shared.map();
  Notifier.init(m.buffer, BASE);
  const asked: number[] = [];
  const filtered = new Notifier(m.buffer, BASE, { allowPeer: (pid) => (asked.push(pid), false) });
  await forge(file, 4, target);
  const before = ownFds();
  filtered.notify();
  expect(asked).toEqual([target.pid]);
  expect(target.openedBy('self')).toBe(0);
  expect(ownFds()).toBe(before);
  expect(target.pending()).toBe(0);
  // The same forged slot, rung by a handle without the filter: same uid, a pipe with that inode.
  await forge(file, 4, target);
  new Notifier(m.buffer, BASE).notify();
  expect(target.pending()).toBe(1);
  shared.close();
});

(isRoot ? test : test.skip)(`a forged slot naming a process of uid 65534 is never opened, even by a root waker with no filter${isRoot ? '' : ' (skipped: needs root to run a process as uid 65534)'}`, async () => {
  const target = await startBellTarget(true);
  targets.push(target);
  expect(fs.statSync(`/proc/${target.pid}`).uid).toBe(65534);
  const { file, shared } = newFile(BASE + Notifier.byteLength);
  using m = shared.map();
  Notifier.init(m.buffer, BASE);
  const n = new Notifier(m.buffer, BASE);
  const before = ownFds();
  for (let slot = 0; slot < 3; slot++) {
    await forge(file, slot, target);
    n.notify();
  }
  expect(target.openedBy('self')).toBe(0);
  expect(ownFds()).toBe(before);
  expect(target.pending()).toBe(0);
  // The target is alive and holds the pipe: refused, not "gone".
  expect(target.openedBy(target.pid)).toBe(1);
  shared.close();
});
