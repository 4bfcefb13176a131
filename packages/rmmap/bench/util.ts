// Helpers shared by the rmmap bench scenarios (not a scenario itself).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { killedAtExit, removedAtExit } from '@shmkit/kit/bench';

export { killedAtExit, removedAtExit };

export const pkgDir = path.resolve(__dirname, '..');
const rmmapdBin = path.join(pkgDir, 'dist', 'bin', 'rmmapd.js');

/** A scratch directory on tmpfs when there is one: the disk is not what we measure. */
export function scratch(): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return removedAtExit(fs.mkdtempSync(path.join(base, 'rmmap-bench-')));
}

export function randomFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w', 0o600);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, i);
  for (let at = 0; at < bytes; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at));
  fs.closeSync(fd);
}

/** Starts the built rmmapd on a free port; resolves with it once it printed its readiness line. */
export function startRmmapd(root: string): Promise<{ child: ChildProcess; port: number }> {
  if (!fs.existsSync(rmmapdBin)) throw new Error(`${rmmapdBin} is missing: build first (npm run build)`);
  // With its write journal, as users run it, but kept in a directory of this
  // run rather than rmmapd's default one (keyed by the throw-away root).
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-bench-state-'));
  process.once('exit', () => fs.rmSync(state, { recursive: true, force: true }));
  const prof = process.env['RMMAPD_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['RMMAPD_PROF']] : [];
  const args = [rmmapdBin, '--root', root, '--port', '0', '--max-frame', '16M', '--journal', path.join(state, 'journal')];
  const child = killedAtExit(spawn(process.execPath, [...prof, ...args], { stdio: ['ignore', 'pipe', 'ignore'] }));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on \S+:(\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`rmmapd exited (${String(code)}) before listening: ${out}`)));
  });
}

/** Runs `script` (JS source) in a child Node process; resolves with the first stdout line and the child. */
export function startScript(script: string, args: string[] = []): Promise<{ child: ChildProcess; line: string }> {
  const child = killedAtExit(spawn(process.execPath, ['-e', script, '--', ...args], { stdio: ['ignore', 'pipe', 'inherit'] }));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, line: out.slice(0, nl) });
    });
    child.once('exit', (code) => reject(new Error(`bench helper exited (${String(code)})`)));
  });
}

export function table(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${cells.slice(1).map(line).join('\n')}\n`);
}
