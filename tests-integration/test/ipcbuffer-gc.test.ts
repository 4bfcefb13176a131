// The leak backstop, in children run with --expose-gc: a buffer dropped
// without close() is unmapped, its fd closed, and an SHM_LEAK warning is
// emitted; closed buffers are collected silently.
import { run } from './helpers/proc';

const child = (closeIt: boolean) => `
const { IPCBuffer } = require('@shmkit/ipcbuffer');
const fs = require('node:fs');
const warnings = [];
process.on('warning', (w) => { if (w.code === 'SHM_LEAK') warnings.push(w.message); });
// Count our memfds only: Node itself may open fds (stdio) meanwhile.
const memfds = () => fs.readdirSync('/proc/self/fd').filter((f) => { try { return fs.readlinkSync('/proc/self/fd/' + f).startsWith('/memfd:ipcbuffer'); } catch { return false; } }).length;
(function () {
  for (let i = 0; i < 4; i++) {
    const b = IPCBuffer.anonymous(1 << 16);
    b.fill(1);
    ${closeIt ? 'b.close();' : ''}
  }
})();
const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('memfd:ipcbuffer')).length;
const mappedBefore = mapped();
const fdsBefore = memfds();
(async () => {
  for (let i = 0; i < 10 && (warnings.length < ${closeIt ? 0 : 8} || i < 3); i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
  console.log(JSON.stringify({ warnings, mappedBefore, mappedAfter: mapped(), fdsBefore, fdsAfter: memfds() }));
})();`;

it('a leaked anonymous IPCBuffer is released by the backstop and reported', async () => {
  const r = await run(['--expose-gc', '-e', child(false)], { cwd: __dirname });
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as { warnings: string[]; mappedBefore: number; mappedAfter: number; fdsBefore: number; fdsAfter: number };
  expect([out.mappedBefore, out.fdsBefore]).toEqual([4, 4]);
  expect([out.mappedAfter, out.fdsAfter]).toEqual([0, 0]);
  // One warning for the fd and one for the mapping of each leaked buffer.
  expect(out.warnings.filter((w) => /IPCBuffer anonymous fd \d+ was garbage-collected without close\(\)/.test(w))).toHaveLength(4);
  expect(out.warnings.filter((w) => /mapping of fd \d+ .* was garbage-collected without close\(\)/.test(w))).toHaveLength(4);
});

it('closed buffers are collected without warnings', async () => {
  const r = await run(['--expose-gc', '-e', child(true)], { cwd: __dirname });
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as unknown;
  expect(out).toEqual({ warnings: [], mappedBefore: 0, mappedAfter: 0, fdsBefore: 0, fdsAfter: 0 });
});
