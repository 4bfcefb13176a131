// Shared pieces of the rmmap integration tests: starting rmmapd and client
// processes (the built bins and package), and a seeded PRNG.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { bin, start, type Proc } from './helpers/proc';

export const clientFixture = path.join(__dirname, 'fixtures', 'rmmap-client.js');

export function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-it-'));
}

// rmmapd's default journal lives in /tmp/rmmapd-$UID, keyed by the root: a
// test's temporary root would leave one behind per test. Servers get one in
// a directory of the test file instead, removed after its last test.
let journals: string | undefined;
let journalCount = 0;
afterAll(() => {
  if (journals !== undefined) fs.rmSync(journals, { recursive: true, force: true });
  journals = undefined;
});
function journalArgs(args: string[]): string[] {
  if (args.some((a) => a === '--journal' || a === '--no-journal' || a === '--read-only')) return [];
  journals ??= fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-it-journals-'));
  return ['--journal', path.join(journals, `${++journalCount}.journal`)];
}

export async function startServer(args: string[], cmdPrefix: string[] = []): Promise<{ proc: Proc; port: number; host: string }> {
  const argv = [bin('rmmap', 'rmmapd'), ...args, ...journalArgs(args)];
  const proc = cmdPrefix.length > 0 ? start([...cmdPrefix.slice(1), process.execPath, ...argv], { cmd: cmdPrefix[0] as string }) : start(argv);
  const line = await proc.waitFor(/listening on (\S+):(\d+)/);
  const m = /listening on (\S+):(\d+)/.exec(line) as RegExpExecArray;
  return { proc, host: m[1] as string, port: Number(m[2]) };
}

export function startClient(config: Record<string, unknown>, cmdPrefix: string[] = []): Proc {
  const argv = [clientFixture, JSON.stringify(config)];
  const opts = { stdio: ['pipe', 'pipe', 'pipe'] as ('pipe' | 'ignore')[] };
  return cmdPrefix.length > 0
    ? start([...cmdPrefix.slice(1), process.execPath, ...argv], { ...opts, cmd: cmdPrefix[0] as string })
    : start(argv, opts);
}

/** The JSON after `prefix ` in a process's stdout (waits for the line). */
export async function jsonLine<T>(p: Proc, prefix: string, timeoutMs = 60000): Promise<T> {
  // Up to the newline: a long line may arrive in several chunks.
  const hit = await p.waitFor(new RegExp(`^${prefix} (.*)\n`, 'm'), timeoutMs);
  return JSON.parse(hit.slice(prefix.length + 1).trimEnd()) as T;
}

/** The 16 bytes a writer client (fixtures/rmmap-client.js) puts at index `i`. */
export function record(tag: string, i: number): string {
  return `${tag}:${String(i).padStart(8, '0')}`.padEnd(16, '.');
}

/**
 * After three writer clients tagged `${prefix}0..2` each wrote `per` records
 * (client c at indexes c × 1000 + i): every record is in place, and every
 * write was applied exactly once. Each applied write bumps the file's
 * version by one, so the acknowledged versions are distinct and the file
 * ends at version 3 × per.
 */
export async function expectWrittenOnce(root: string, clients: Proc[], prefix: string, per: number, port: number): Promise<void> {
  const file = fs.readFileSync(path.join(root, 'log.bin'));
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < per; i++) expect(file.subarray((c * 1000 + i) * 16, (c * 1000 + i + 1) * 16).toString()).toBe(record(`${prefix}${c}`, i));
  }
  const versions = clients.flatMap((c) => [...c.stdout().matchAll(/^ack \d+ (\d+)$/gm)].map((m) => Number(m[1])));
  expect(new Set(versions).size).toBe(3 * per);
  const probe = startClient({ host: '127.0.0.1', port, path: 'log.bin', length: 16, mode: 'version' });
  expect(await probe.waitFor(/^version (\d+)$/m)).toBe(`version ${3 * per}`);
}

/** mulberry32: reproducible randomness; the seed is printed on failure. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
