// Runs a command to completion and returns its output, for the checks that
// drive pnpm, npm, tsc and the installed programs.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command line and both streams, for failure messages. */
  transcript: string;
}

export function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 240000, ...options });
  if (r.error) throw r.error;
  const stdout = String(r.stdout);
  const stderr = String(r.stderr);
  return {
    status: r.status,
    signal: r.signal,
    stdout,
    stderr,
    transcript: `$ ${[cmd, ...args].join(' ')}  (in ${String(options.cwd ?? process.cwd())})\nexit ${r.status ?? r.signal}\n--- stdout\n${stdout}--- stderr\n${stderr}`,
  };
}

/**
 * This environment without what a package manager sets for the scripts it
 * runs (npm_config_*, npm_package_*, …): a user's npm in a fresh shell sees
 * none of it, and npm warns about config it does not know.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_)/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** The lines of `text` in which a package manager warns, e.g. "npm warn …" or " WARN  …". */
export function warnings(text: string): string[] {
  return text.split('\n').filter((l) => /^\s*(npm )?warn\b/i.test(l) || /\bWARN\b/.test(l));
}

/** Fails with the whole transcript unless the command exited 0. */
export function expectSuccess(r: Ran): void {
  if (r.status !== 0) throw new Error(`expected exit 0:\n${r.transcript}`);
}
