// Deterministic child-process handling for integration tests:
// spawn the running Node binary, wait for readiness lines instead of
// sleeping, include captured output in timeouts, and kill whole process
// groups in afterEach.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** Path of a built bin, e.g. bin('shm-fd', 'shm-fd'). Override with SHMKIT_BIN_<NAME>. */
export function bin(pkg: string, name: string): string {
  const override = process.env[`SHMKIT_BIN_${name.toUpperCase().replace(/-/g, '_')}`];
  return override ?? path.join(repoRoot, 'packages', pkg, 'dist', 'bin', `${name}.js`);
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the matching text once stdout or stderr matches. */
  waitFor: (pattern: RegExp | string, timeoutMs?: number) => Promise<string>;
  /** Resolves with the exit status (128+N for signals). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; status: number }>;
}

const live = new Set<ChildProcess>();

/**
 * Spawns `cmd` (default: this Node binary) in its own process group so the
 * whole tree can be killed. Output is captured.
 */
export function start(args: string[], options: SpawnOptions & { cmd?: string } = {}): Proc {
  const { cmd = process.execPath, ...rest } = options;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...rest });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; status: number }>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child);
      const n = signal === null ? 0 : osConstants.signals[signal];
      resolve({ code, signal, status: code ?? 128 + n });
    });
  });
  const waitFor = (pattern: RegExp | string, timeoutMs = 20000) =>
    new Promise<string>((resolve, reject) => {
      const test = () => {
        const all = out + err;
        if (typeof pattern === 'string') return all.includes(pattern) ? pattern : null;
        const m = pattern.exec(all);
        return m === null ? null : m[0];
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`));
      }, timeoutMs);
      const check = () => {
        const hit = test();
        if (hit !== null) {
          cleanup();
          resolve(hit);
        }
      };
      const onClose = () => {
        const hit = test();
        cleanup();
        if (hit !== null) resolve(hit);
        else reject(new Error(`process exited before ${String(pattern)}\n--- stdout ---\n${out}\n--- stderr ---\n${err}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('close', onClose);
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('close', onClose);
      check();
    });
  return { child, stdout: () => out, stderr: () => err, waitFor, exited };
}

/** Runs to completion; resolves with status and output. */
export async function run(args: string[], options: SpawnOptions & { cmd?: string; timeoutMs?: number } = {}) {
  const { timeoutMs = 60000, ...rest } = options;
  const p = start(args, rest);
  const timer = setTimeout(() => killGroup(p.child, 'SIGKILL'), timeoutMs);
  const r = await p.exited;
  clearTimeout(timer);
  return { ...r, stdout: p.stdout(), stderr: p.stderr() };
}

/** Sends `signal` to the child's whole process group. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** For afterEach: kill every child still running and wait for it. */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise((r) => child.once('close', r)));
      killGroup(child, 'SIGKILL');
    }
  }
  await Promise.all(waits);
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls `cond` every few ms until true or timeout (for conditions with no output to wait on). */
export async function until(cond: () => boolean, timeoutMs = 10000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
