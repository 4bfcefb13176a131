// claimCreation: which of several openers initialises a fresh structure.
// Real pids: this process, a dead one (a child that exited), init (alive).
import { spawnSync } from 'node:child_process';

import { claimCreation } from '../src/creation-claim';

const W = { creator: 1, ready: 0, readyValue: 0x4d41474b };

function header(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(64));
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('the first opener of a zeroed header creates it, and its pid marks the claim', () => {
  const h = header();
  expect(claimCreation(h, W, 'creating the test header', () => undefined)).toBe('create');
  expect(h[W.creator]).toBe(process.pid);
});

test('a header another process finished creating is opened, not created again', () => {
  const h = header();
  h[W.creator] = 1;
  h[W.ready] = W.readyValue;
  expect(claimCreation(h, W, 'creating the test header', () => undefined)).toBe('exists');
  expect(h[W.creator]).toBe(1);
});

test('a waiter sees the creator finish while it waits', () => {
  const h = header();
  h[W.creator] = 1; // init: alive for the whole test
  let looks = 0;
  const claim = claimCreation(h, W, 'creating the test header', () => {
    if (++looks === 3) h[W.ready] = W.readyValue;
  });
  expect([claim, looks]).toEqual(['exists', 3]);
});

test('a creator that died half-way is taken over', () => {
  const h = header();
  const dead = deadPid();
  h[W.creator] = dead;
  expect(claimCreation(h, W, 'creating the test header', () => undefined)).toBe('create');
  expect(h[W.creator]).toBe(process.pid);
});
