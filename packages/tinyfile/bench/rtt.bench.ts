// Small-request round trip: compress of N bytes through tinyd against an echo
// of N bytes over a Unix socket (the IPC a user would otherwise pick), p50 and p99.
// The echo server runs in another process, as a daemon would; the
// same-process echo (no wake-up of another process at all) is shown too.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// The built package, as users run it (through tsx the sources carry helpers of their own).
import { TinyFile } from '@shmkit/tinyfile';
import { quick, sampleText, startTinyd, type Row } from './harness';

function quantiles(xs: number[]): { p50: number; p99: number } {
  xs.sort((a, b) => a - b);
  return { p50: xs[Math.floor(xs.length * 0.5)]!, p99: xs[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]! };
}

/** An echo server: in this process (`inProcess`), or in a child process, the realistic alternative to a daemon. */
async function echoServer(inProcess: boolean): Promise<{ path: string; close: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyfile-echo-'));
  const p = path.join(dir, 'echo.sock');
  if (inProcess) {
    const server = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(p, r));
    return {
      path: p,
      close: async () => {
        await new Promise((r) => server.close(r));
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'echo-server.js'), p], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
  });
  return {
    path: p,
    close: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function echoRtt(sockPath: string, size: number, n: number): Promise<number[]> {
  const s = net.connect(sockPath);
  await new Promise((r) => s.once('connect', r));
  const payload = Buffer.alloc(size, 7);
  const out: number[] = [];
  let got = 0;
  let resolveOne: () => void = () => undefined;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= size) {
      got -= size;
      resolveOne();
    }
  });
  for (let i = 0; i < n + 50; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise<void>((r) => {
      resolveOne = r;
      s.write(payload);
    });
    if (i >= 50) out.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  s.destroy();
  return out;
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const n = quick ? 300 : 3000;
  // The js codec: these rows compare with JavaScript baselines (native.bench.ts runs the default codec against native snappy).
  const d = await startTinyd(['--workers', '2', '--codec', 'js']);
  const echo = await echoServer(false);
  const local = await echoServer(true);
  try {
    const tf = await TinyFile.connect({ socket: d.socket });
    for (const size of [64, 4096]) {
      const input = sampleText(size);
      // Ten blocks, alternating, so a burst of load elsewhere hits all three alike.
      const lat: number[] = [];
      const other: number[] = [];
      const inProcess: number[] = [];
      for (let b = 0; b < 10; b++) {
        for (let i = 0; i < n / 10 + 20; i++) {
          const t0 = process.hrtime.bigint();
          await tf.compress(input);
          if (i >= 20) lat.push(Number(process.hrtime.bigint() - t0) / 1e3);
        }
        other.push(...(await echoRtt(echo.path, size, n / 10)));
        inProcess.push(...(await echoRtt(local.path, size, n / 10)));
      }
      const e = quantiles(other);
      const same = quantiles(inProcess);
      const t = quantiles(lat);
      rows.push({ scenario: 'rtt', case: `${size} B request p50`, tinyd: `${t.p50.toFixed(0)} µs`, baseline: `${e.p50.toFixed(0)} µs Unix-socket echo (other process)`, ratio: t.p50 / e.p50, better: 'lower' });
      rows.push({ scenario: 'rtt', case: `${size} B request p99`, tinyd: `${t.p99.toFixed(0)} µs`, baseline: `${e.p99.toFixed(0)} µs Unix-socket echo (other process)`, ratio: t.p99 / e.p99, better: 'lower' });
      rows.push({ scenario: 'rtt', case: `${size} B request p50`, tinyd: `${t.p50.toFixed(0)} µs`, baseline: `${same.p50.toFixed(0)} µs Unix-socket echo (same process)`, ratio: t.p50 / same.p50, better: 'lower' });
      const sync: number[] = [];
      for (let i = 0; i < n; i++) {
        const s0 = process.hrtime.bigint();
        tf.compressSync(input);
        sync.push(Number(process.hrtime.bigint() - s0) / 1e3);
      }
      const ts = quantiles(sync);
      rows.push({ scenario: 'rtt', case: `${size} B compressSync p50`, tinyd: `${ts.p50.toFixed(0)} µs`, baseline: `${e.p50.toFixed(0)} µs Unix-socket echo (other process)`, ratio: ts.p50 / e.p50, better: 'lower' });
    }
    await tf.close();
  } finally {
    await echo.close();
    await local.close();
    await d.stop();
  }
  return rows;
}
