// Shared bench plumbing: a tinyd child process, client child processes
// started on a barrier, and the sample data. Knobs come from the environment
// (BENCH_QUICK=1 for a short run).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const quick = process.env['BENCH_QUICK'] === '1';
const pkg = path.resolve(__dirname, '..');
export const tinydBin = path.join(pkg, 'dist', 'bin', 'tinyd.js');
export const clientScript = path.join(__dirname, 'fixtures', 'bench-client.js');

export interface Row {
  scenario: string;
  case: string;
  tinyd: string;
  baseline: string;
  /** tinyd ÷ baseline (higher is better for throughput, lower for latency: see `better`). */
  ratio: number;
  better: 'higher' | 'lower';
}

export interface Daemon {
  socket: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startTinyd(args: string[]): Promise<Daemon> {
  if (!fs.existsSync(tinydBin)) throw new Error(`${tinydBin} is missing; run \`pnpm build\` (turbo runs it before bench)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyfile-bench-'));
  const socket = path.join(dir, 'tinyd.sock');
  const child = spawn(process.execPath, [tinydBin, '--socket', socket, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (err.includes('listening on')) resolve();
    });
    child.once('exit', () => reject(new Error(`tinyd exited: ${err}`)));
  });
  return {
    socket,
    child,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `count` client processes; each waits for "go" so they start together. Returns their JSON results and the wall time. */
export async function runClients(count: number, args: string[]): Promise<{ results: Array<Record<string, number>>; seconds: number }> {
  const kids = Array.from({ length: count }, () => spawn(process.execPath, [clientScript, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = kids.map((k) => {
    let out = '';
    k.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    return () => out;
  });
  await Promise.all(outputs.map((o, i) => waitFor(kids[i]!, o, 'ready')));
  const t0 = process.hrtime.bigint();
  for (const k of kids) k.stdin!.write('go\n');
  await Promise.all(kids.map((k) => new Promise((r) => k.once('exit', r))));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { results: outputs.map((o) => JSON.parse(/result (.*)/.exec(o())![1]!) as Record<string, number>), seconds };
}

function waitFor(k: ChildProcess, out: () => string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (out().includes(what)) {
        k.stdout!.off('data', check);
        resolve();
      }
    };
    k.stdout!.on('data', check);
    k.once('exit', (code) => (out().includes(what) ? resolve() : reject(new Error(`bench client exited (${code}) before ${what}: ${out()}`))));
    check();
  });
}

/**
 * Median seconds per call of `a` and of `b`, calls alternating so both see
 * the same machine load (this bench runs on shared machines).
 */
export async function timeAlternating(rounds: number, a: () => unknown, b: () => unknown): Promise<[number, number]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = process.hrtime.bigint();
    await a();
    ta.push(Number(process.hrtime.bigint() - t0) / 1e9);
    t0 = process.hrtime.bigint();
    await b();
    tb.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1]!;
  return [med(ta), med(tb)];
}

export const SIZES: Array<{ label: string; bytes: number; rounds: number }> = [
  { label: '4 KiB', bytes: 4096, rounds: quick ? 300 : 3000 },
  { label: '1 MiB', bytes: 1 << 20, rounds: quick ? 10 : 60 },
  { label: '64 MiB', bytes: 64 << 20, rounds: quick ? 1 : 5 },
];

export function mbps(bytes: number, seconds: number): string {
  return `${(bytes / 1e6 / seconds).toFixed(1)} MB/s`;
}

export { sampleText } from '../src/cli/tinyfile-main';
