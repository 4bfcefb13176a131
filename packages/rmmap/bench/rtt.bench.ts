// 64-byte READ and WRITE round trips through rmmapd (page cache off, so
// every read crosses the network) vs a raw TCP 64-byte ping-pong against an
// echo server in its own process. p50 / p99 in µs. Knob: RMMAP_BENCH_RTT_N (5000).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// The built package, as users run it (tsx-transpiled sources add per-call overhead of their own).
import { rmmap } from '@shmkit/rmmap';
import { percentile } from '@shmkit/kit/bench';

import { scratch, startRmmapd, startScript, table } from './util';

const N = Number(process.env['RMMAP_BENCH_RTT_N'] ?? 5000);

const echoServer = `
const net = require('node:net');
const srv = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

async function rawClient(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  return s;
}

async function rawPingPong(s: net.Socket, n: number, warm: number): Promise<number[]> {
  const msg = Buffer.alloc(64, 1);
  const times: number[] = [];
  let got = 0;
  let done: (() => void) | undefined;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 64) {
      got -= 64;
      done?.();
    }
  });
  for (let i = 0; i < n + warm; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((r) => {
      done = r;
      s.write(msg);
    });
    if (i >= warm) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  s.removeAllListeners('data');
  return times;
}

async function main(): Promise<void> {
  const dir = scratch();
  fs.writeFileSync(path.join(dir, 'small.bin'), Buffer.alloc(64 * 1024));
  const daemon = await startRmmapd(dir);
  const echo = await startScript(echoServer);
  try {
    const m = await rmmap({ host: '127.0.0.1', port: daemon.port, path: 'small.bin' }, 0, 64 * 1024, { cacheSize: 0, readahead: 0 });
    const data = Buffer.alloc(64, 2);
    const measure = async (op: (i: number) => Promise<unknown>, n: number, warm: number): Promise<number[]> => {
      const t: number[] = [];
      for (let i = 0; i < n + warm; i++) {
        const t0 = process.hrtime.bigint();
        await op(i);
        if (i >= warm) t.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      return t;
    };
    // Interleaved blocks, so load from elsewhere on the machine hits all three alike.
    const sock = await rawClient(Number(echo.line));
    const raw: number[] = [];
    const reads: number[] = [];
    const writes: number[] = [];
    const BLOCKS = 10;
    for (let b = 0; b < BLOCKS; b++) {
      const warm = b === 0 ? 200 : 20;
      raw.push(...(await rawPingPong(sock, N / BLOCKS, warm)));
      reads.push(...(await measure((i) => m.read((i * 64) % 65536, 64), N / BLOCKS, warm)));
      writes.push(...(await measure((i) => m.write((i * 64) % 65536, data), N / BLOCKS, warm)));
    }
    sock.destroy();
    for (const t of [raw, reads, writes]) t.sort((a, b) => a - b);
    await m.close();
    const rawP50 = percentile(raw, 0.5);
    const rawP99 = percentile(raw, 0.99);
    const row = (name: string, t: number[]) => [
      name,
      percentile(t, 0.5).toFixed(1),
      percentile(t, 0.99).toFixed(1),
      rawP50.toFixed(1),
      rawP99.toFixed(1),
      (percentile(t, 0.5) / rawP50).toFixed(2),
      (percentile(t, 0.99) / rawP99).toFixed(2),
    ];
    table(
      ['scenario', 'rmmap p50 µs', 'rmmap p99 µs', 'raw TCP p50 µs', 'raw TCP p99 µs', 'p50 ratio (rmmap / raw)', 'p99 ratio'],
      [row(`64-byte read round trip (n=${N}, cache off)`, reads), row(`64-byte write round trip (n=${N})`, writes)],
    );
  } finally {
    daemon.child.kill('SIGTERM');
    echo.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
