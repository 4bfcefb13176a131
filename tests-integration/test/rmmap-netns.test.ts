// Separate hosts: rmmapd in one network namespace, clients in another,
// joined by a veth pair. Both namespaces, the link and its addresses are
// created here and removed afterwards; skipped (with the reason) where the
// test may not create namespaces.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { killAll } from './helpers/proc';
import { jsonLine, startClient, startServer, tempRoot } from './rmmap-helpers';

const tag = `${process.pid % 100000}`;
const nsServer = `rmmap-s-${tag}`;
const nsClient = `rmmap-c-${tag}`;
const vethS = `rmvs${tag}`;
const vethC = `rmvc${tag}`;
const subnet = `10.213.${process.pid % 250}`;
const serverAddr = `${subnet}.1`;
const clientAddr = `${subnet}.2`;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces cannot be used here, or undefined when they can. */
function netnsProblem(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (CAP_NET_ADMIN / CAP_SYS_ADMIN) to create network namespaces';
  const probe = `rmmap-probe-${tag}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return undefined;
  } catch (e) {
    return `'ip netns add' failed: ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}`;
  }
}

const problem = netnsProblem();
if (problem !== undefined) {
  console.warn(`rmmap-netns: skipping the separate-hosts test: ${problem}`);
}

function teardown(): void {
  for (const ns of [nsServer, nsClient]) {
    try {
      ip('netns', 'del', ns); // removes the veth end inside it, and so the pair
    } catch {
      // not created
    }
  }
}

let root: string;

beforeAll(() => {
  if (problem !== undefined) return;
  teardown();
  ip('netns', 'add', nsServer);
  ip('netns', 'add', nsClient);
  ip('link', 'add', vethS, 'netns', nsServer, 'type', 'veth', 'peer', 'name', vethC, 'netns', nsClient);
  ip('-n', nsServer, 'addr', 'add', `${serverAddr}/30`, 'dev', vethS);
  ip('-n', nsClient, 'addr', 'add', `${clientAddr}/30`, 'dev', vethC);
  for (const [ns, dev] of [
    [nsServer, vethS],
    [nsClient, vethC],
  ] as const) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
});

afterAll(() => {
  if (problem === undefined) teardown();
});

beforeEach(() => {
  root = tempRoot();
  fs.writeFileSync(path.join(root, 'remote.bin'), Buffer.alloc(32 * 1024));
});

afterEach(async () => {
  await killAll();
  fs.rmSync(root, { recursive: true, force: true });
});

(problem === undefined ? test : test.skip)(
  `server and clients in different network namespaces${problem === undefined ? '' : ` (skipped: ${problem})`}`,
  async () => {
    const server = await startServer(['--root', root, '--host', serverAddr, '--port', '0'], ['ip', 'netns', 'exec', nsServer]);
    expect(server.host).toBe(serverAddr);
    const plans = [0, 1].map((c) =>
      Array.from({ length: 50 }, (_, i) => ({ at: (c * 50 + i) * 100 + (i % 7), hex: Buffer.from(`c${c}w${i}`).toString('hex') })),
    );
    // Client 1 also overwrites client 0's first records, so NOTIFY must cross namespaces.
    plans[1]?.push(...Array.from({ length: 10 }, (_, i) => ({ at: i * 100, hex: Buffer.from(`X${i}`).toString('hex') })));
    const clients = plans.map((writes) =>
      startClient({ host: serverAddr, port: server.port, path: 'remote.bin', length: 32 * 1024, mode: 'writer', writes }, ['ip', 'netns', 'exec', nsClient]),
    );
    await Promise.all(clients.map((c) => c.waitFor(/^ready$/m)));
    for (const c of clients) c.child.stdin?.write('go\n');
    const logs = await Promise.all(clients.map((c) => jsonLine<{ log: { at: number; hex: string; version: number }[] }>(c, 'done')));
    for (const c of clients) c.child.stdin?.write('check\n');
    const states = await Promise.all(clients.map((c) => jsonLine<{ changes: number; full: string }>(c, 'state')));
    const expected = Buffer.alloc(32 * 1024);
    for (const w of logs.flatMap((l) => l.log).sort((a, b) => a.version - b.version)) Buffer.from(w.hex, 'hex').copy(expected, w.at);
    const file = fs.readFileSync(path.join(root, 'remote.bin'));
    expect(file.equals(expected)).toBe(true);
    for (const s of states) expect(Buffer.from(s.full, 'base64').equals(file)).toBe(true);
    expect(states[0]?.changes).toBeGreaterThan(0);
    // The server saw the clients from the other namespace's address.
    expect(server.proc.stderr()).toContain(`connection from ${clientAddr}:`);
  },
);
