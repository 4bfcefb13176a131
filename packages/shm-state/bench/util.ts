import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

import { killedAtExit, printTable as printShmkitTable, type Row } from '@shmkit/kit/bench';

export { environment, median, percentile, type Row } from '@shmkit/kit/bench';

export function printTable(title: string, rows: Row[]): void {
  printShmkitTable(title, rows, 'shm-state');
}

export interface Peer {
  child: ChildProcess;
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/**
 * Starts bench/peer.ts in a child, with `fds` at 3, 4, …, pinned to `cpus`
 * (a taskset(1) list) when given; waits for nothing.
 */
export function peer(args: string[], fds: number[] = [], cpus?: string): Peer {
  const node = [process.execPath, '-r', 'tsx/cjs', path.join(__dirname, 'peer.ts'), ...args];
  const argv = cpus === undefined ? node : ['taskset', '-c', cpus, ...node];
  const child = killedAtExit(
    spawn(argv[0] as string, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'inherit', ...fds],
    }),
  );
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const line = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m !== null) {
          out = out.slice(m.index + m[0].length);
          cleanup();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`bench peer: no ${String(pattern)} within ${timeoutMs} ms; output so far: ${out}`));
      }, timeoutMs);
      const onExit = () => {
        check();
        cleanup();
        reject(new Error(`bench peer exited before ${String(pattern)}; output: ${out}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.off('exit', onExit);
      };
      child.stdout?.on('data', check);
      child.once('exit', onExit);
      check();
    });
  return { child, line, exited };
}

export function fmtRate(perSec: number, unit: string): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M${unit}/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k${unit}/s`;
  return `${perSec.toFixed(0)} ${unit}/s`;
}

export function fmtUs(us: number): string {
  return us >= 100 ? `${us.toFixed(0)} µs` : `${us.toFixed(1)} µs`;
}

export function tmpSocketPath(name: string): string {
  return path.join(os.tmpdir(), `shm-state-bench-${process.pid}-${name}.sock`);
}

/** "3.21 M msg/s, CPU 0.62 s/M": a rate with the CPU both sides spent per million. */
export function rateWithCpu(perSec: number, unit: string, cpuSPerM: number): string {
  return `${fmtRate(perSec, unit)}, CPU ${cpuSPerM.toFixed(2)} s/M`;
}

/** "12.3 µs, CPU 14.1 s/M": a latency with the CPU both sides spent per million. */
export function usWithCpu(us: number, cpuSPerM: number): string {
  return `${fmtUs(us)}, CPU ${cpuSPerM.toFixed(1)} s/M`;
}

/** CPU µs (user + system) this process spent since `since`. */
export function cpuSince(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return c.user + c.system;
}
