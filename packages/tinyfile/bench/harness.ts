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
  /** Smallest and largest per-pair ratio, when the row is a median of pairs. */
  range?: [number, number];
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

export interface ClientRound {
  /** `verified`: outputs the client checked after the round. */
  results: Array<{ seconds: number; bytes: number; cpuSeconds: number; verified: number }>;
  /** Wall time from "go" to the last client's result. */
  seconds: number;
}

/**
 * `count` client processes, connected and warmed up, that run one round at
 * once on each round(); alive between rounds so that rounds can alternate
 * with the in-process baseline.
 */
export class ClientGroup {
  readonly #kids: ChildProcess[];
  readonly #outputs: Array<() => string>;

  private constructor(kids: ChildProcess[]) {
    this.#kids = kids;
    this.#outputs = kids.map((k) => {
      let out = '';
      k.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      return () => out;
    });
  }

  static async start(count: number, args: string[]): Promise<ClientGroup> {
    const g = new ClientGroup(Array.from({ length: count }, () => spawn(process.execPath, [clientScript, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })));
    try {
      await Promise.all(g.#kids.map((k, i) => waitFor(k, g.#outputs[i]!, /ready\n/g, 1)));
    } catch (err) {
      await g.stop();
      throw err;
    }
    return g;
  }

  async round(): Promise<ClientRound> {
    const before = this.#outputs.map((o) => (o().match(/result /g) ?? []).length);
    const t0 = process.hrtime.bigint();
    for (const k of this.#kids) k.stdin!.write('go\n');
    await Promise.all(this.#kids.map((k, i) => waitFor(k, this.#outputs[i]!, /result /g, before[i]! + 1)));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const results = this.#outputs.map((o) => JSON.parse([...o().matchAll(/result (.*)\n/g)].at(-1)![1]!) as ClientRound['results'][number]);
    return { results, seconds };
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#kids.map((k) => {
        if (k.exitCode !== null || k.signalCode !== null) return undefined;
        const exited = new Promise((r) => k.once('exit', r));
        k.stdin!.end();
        return exited;
      }),
    );
  }
}

/** Resolves once `out()` holds `times` matches of `what`; rejects if the client exits first. */
function waitFor(k: ChildProcess, out: () => string, what: RegExp, times: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => (out().match(what) ?? []).length >= times;
    const check = () => {
      if (!done()) return;
      k.stdout!.off('data', check);
      k.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null) => (done() ? resolve() : reject(new Error(`bench client exited (${code}) early: ${out()}`)));
    k.stdout!.on('data', check);
    k.once('exit', onExit);
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
  return [median(ta), median(tb)];
}

/** `rounds`: calls per client per measurement; `pairs`: baseline / tinyd measurements alternated, for the median ratio. */
export const SIZES: Array<{ label: string; bytes: number; rounds: number; pairs: number }> = [
  { label: '4 KiB', bytes: 4096, rounds: quick ? 300 : 1000, pairs: quick ? 3 : 7 },
  { label: '1 MiB', bytes: 1 << 20, rounds: quick ? 10 : 30, pairs: quick ? 3 : 15 },
  { label: '64 MiB', bytes: 64 << 20, rounds: quick ? 1 : 2, pairs: quick ? 1 : 5 },
];

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export function mbps(bytes: number, seconds: number): string {
  return `${(bytes / 1e6 / seconds).toFixed(1)} MB/s`;
}

export { sampleText } from '../src/cli/tinyfile-main';
