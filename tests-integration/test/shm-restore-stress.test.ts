// restore-v1 against a writer that commits as fast as it can into a small
// ring: every version of BACKUP seen while it runs must hold only intact
// payloads and a tail consistent with its newest entry. A copier that did
// not re-check entries after copying keeps torn payloads and fails here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killAll, start } from './helpers/proc';
import { decode, shmRestore } from './shm-restore-helpers';

const stress = path.join(__dirname, 'fixtures', 'shm-restore-stress.js');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shm-restore-stress-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

function check(file: Buffer): number {
  const d = decode(file);
  if (d === null) return -1;
  let last = -1;
  for (const v of d.valid) {
    const seq = Number(v.payload.readBigUInt64LE(0));
    const size = 8 + ((seq * 7919) % 1500);
    if (v.length !== size) throw new Error(`entry ${v.slot}: seq ${seq} has length ${v.length}, expected ${size}`);
    for (let i = 8; i < size; i++) {
      if (v.payload[i] !== ((seq * 31 + i) & 0xff)) throw new Error(`entry ${v.slot}: seq ${seq} torn at byte ${i}`);
    }
    if (seq <= last) throw new Error(`entries out of order: ${seq} after ${last}`);
    last = seq;
  }
  for (let i = 0; i <= last; i++) {
    const word = file.readBigUInt64LE(d.tailOffset + 8 * i);
    if (word !== BigInt(i + 1)) throw new Error(`tail[${i}] is ${word}, but the newest entry is seq ${last}`);
  }
  return last;
}

test('every BACKUP written while a fast writer runs is intact', async () => {
  const backup = path.join(dir, 'stress.backup');
  const p = start([shmRestore, '--snapshot', 'restore-v1', '--interval', '1', backup, '--', process.execPath, stress, '2500']);
  await p.waitFor(/stress writer starting/);
  const versions = new Set<number>();
  let newest = -1;
  while (p.child.exitCode === null && p.child.signalCode === null) {
    const seq = check(fs.readFileSync(backup));
    expect(seq).toBeGreaterThanOrEqual(newest);
    newest = seq;
    versions.add(seq);
    await new Promise((r) => setTimeout(r, 5));
  }
  const exit = await p.exited;
  expect(exit.status).toBe(0);
  expect(check(fs.readFileSync(backup))).toBeGreaterThanOrEqual(newest);
  // Snapshots were taken while the writer ran, not only at its exit.
  expect(versions.size).toBeGreaterThan(3);
});
