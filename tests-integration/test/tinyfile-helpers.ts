import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { bin, killAll, start, type Proc } from './helpers/proc';

export const tinyd = bin('tinyfile', 'tinyd');
export const tinyfileCli = bin('tinyfile', 'tinyfile');
export const clientFixture = path.join(__dirname, 'fixtures', 'tinyfile-client.js');

/**
 * Per test: a fresh directory with a socket path in it; afterwards every
 * process the test started is killed and the directory removed.
 */
export function useTempSocket(): { readonly dir: string; readonly socket: string } {
  const t = { dir: '', socket: '' };
  beforeEach(() => {
    t.dir = tempDir();
    t.socket = path.join(t.dir, 'tinyd.sock');
  });
  afterEach(async () => {
    await killAll();
    fs.rmSync(t.dir, { recursive: true, force: true });
  });
  return t;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tinyfile-it-'));
}

/** Starts tinyd and waits for its readiness line. */
export async function startDaemon(socket: string, args: string[] = []): Promise<Proc> {
  const d = start([tinyd, '--socket', socket, ...args]);
  await d.waitFor(/listening on/);
  return d;
}

export function client(mode: string, socket: string, ...args: string[]): Proc {
  return start([clientFixture, mode, socket, ...args]);
}

/** Names in /dev/shm, to prove nothing is left behind there. */
export function devShm(): string[] {
  try {
    return fs.readdirSync('/dev/shm').sort();
  } catch {
    return [];
  }
}

/** tinyd's status via the CLI, as JSON. */
export function parseStatus(stdout: string): {
  clients: Array<{ id: number; pid: number }>;
  segments: { used: number; total: number };
  totals: { failures: number; chunks: number };
} {
  return JSON.parse(stdout) as ReturnType<typeof parseStatus>;
}
