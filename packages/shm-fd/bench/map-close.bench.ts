// What a mapping and an ffi call cost, for the layers above to design around.
import fs from 'node:fs';

import { SharedFd } from '../src';
import { libc } from '../src/sys';
import { timeMs, type Row } from './util';

export function run(): Row[] {
  using shared = SharedFd.create({ name: 'bench', size: 1 << 20 });
  const N = 2000;
  const mapClose = timeMs(() => {
    for (let i = 0; i < N; i++) shared.map().close();
  }, 5);
  const readFile = timeMs(() => {
    const b = Buffer.allocUnsafe(1 << 20);
    for (let i = 0; i < N / 10; i++) fs.readSync(shared.fd, b, 0, b.length, 0);
  }, 5);
  const M = 20000;
  const ffi = timeMs(() => {
    for (let i = 0; i < M; i++) libc().getpid();
  }, 5);
  const fstat = timeMs(() => {
    for (let i = 0; i < M; i++) fs.fstatSync(shared.fd);
  }, 5);
  const us = (ms: number, n: number) => (ms * 1000) / n;
  return [
    {
      scenario: 'map + close of 1 MiB vs pread of 1 MiB',
      ours: `${us(mapClose.median, N).toFixed(1)} µs`,
      baseline: `${us(readFile.median, N / 10).toFixed(1)} µs`,
      ratio: us(readFile.median, N / 10) / us(mapClose.median, N),
    },
    {
      scenario: 'one ffi call (getpid) vs fs.fstatSync',
      ours: `${us(ffi.median, M).toFixed(2)} µs`,
      baseline: `${us(fstat.median, M).toFixed(2)} µs`,
      ratio: us(fstat.median, M) / us(ffi.median, M),
    },
  ];
}
