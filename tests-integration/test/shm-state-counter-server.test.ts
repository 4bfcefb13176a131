// examples/counter-server under the real shm-fd wrapper: restarts, kill -9,
// and a layout change with migration keep the counts.
import fs from 'node:fs';
import path from 'node:path';

import { bin, killAll, repoRoot, run, start, type Proc } from './helpers/proc';

const SERVER = path.join(repoRoot, 'examples', 'counter-server', 'server.js');

afterEach(killAll);

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'counter-server-it-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function listening(p: Proc, runNo: number): Promise<{ pid: number; url: string }> {
  const line = await p.waitFor(new RegExp(`run ${runNo} \\(pid (\\d+)\\) listening on (http://127\\.0\\.0\\.1:\\d+)`), 30_000);
  const m = /pid (\d+)\) listening on (\S+)/.exec(line) as RegExpExecArray;
  return { pid: Number(m[1]), url: m[2] as string };
}

async function get(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

interface Stats {
  run: number;
  starts: number;
  requests: number;
  routes: Record<string, number>;
  recent: Array<{ path: string; method?: string; ms?: number }>;
}

describe('examples/counter-server', () => {
  it('counts continue across restarts under shm-fd watch, including kill -9', async () => {
    const p = start([bin('shm-fd', 'shm-fd'), 'watch', '-q', '-n', '0', '--count', '3', '--size', '4M', '--', process.execPath, SERVER, '--port', '0']);
    let s = await listening(p, 1);
    for (let i = 0; i < 3; i++) expect(await get(`${s.url}/a`)).toBe(`hello from run 1, request ${i + 1}\n`);
    expect(await get(`${s.url}/exit`)).toBe('bye\n');

    s = await listening(p, 2);
    let stats = JSON.parse(await get(`${s.url}/stats`)) as Stats;
    expect(stats).toMatchObject({ run: 2, starts: 2, requests: 5, routes: { '/a': 3, '/exit': 1, '/stats': 1 } });
    expect(stats.recent.map((r) => r.path)).toEqual(['/a', '/a', '/a', '/exit', '/stats']);
    process.kill(s.pid, 'SIGKILL');

    s = await listening(p, 3);
    stats = JSON.parse(await get(`${s.url}/stats`)) as Stats;
    expect(stats).toMatchObject({ run: 3, starts: 3, requests: 6, routes: { '/a': 3, '/stats': 2 } });
    await get(`${s.url}/exit`);
    expect((await p.exited).status).toBe(0);
  }, 90_000);

  it('a new layout version migrates the request log; old code is then refused with a clear error', async () => {
    const file = path.join(dir, 'counters');
    const shmFd = bin('shm-fd', 'shm-fd');
    const v1 = start([shmFd, 'run', '-q', '--file', file, '--size', '4M', '--', process.execPath, SERVER, '--port', '0', '--layout', '1']);
    let s = await listening(v1, 1);
    await get(`${s.url}/one`);
    await get(`${s.url}/exit`);
    expect((await v1.exited).status).toBe(0);

    const v2 = start([shmFd, 'run', '-q', '--file', file, '--', process.execPath, SERVER, '--port', '0', '--layout', '2']);
    s = await listening(v2, 2);
    expect(v2.stdout()).toContain('migrated the request log from layout 1 to 2');
    const stats = JSON.parse(await get(`${s.url}/stats`)) as Stats;
    expect(stats).toMatchObject({ starts: 2, requests: 3, routes: { '/one': 1, '/exit': 1, '/stats': 1 } });
    expect(stats.recent).toEqual([
      expect.objectContaining({ path: '/one', method: '?', ms: -1 }),
      expect.objectContaining({ path: '/exit', method: '?', ms: -1 }),
      expect.objectContaining({ path: '/stats', method: 'GET' }),
    ]);
    await get(`${s.url}/exit`);
    expect((await v2.exited).status).toBe(0);

    const old = await run([shmFd, 'run', '-q', '--file', file, '--', process.execPath, SERVER, '--port', '0', '--layout', '1']);
    expect(old.status).toBe(1);
    expect(old.stderr).toMatch(/counter-server: Struct at offset \d+ holds layout version 2, the code has 1; pass migrate\(\) to convert it \(ERR_SHM_STATE_LAYOUT_MISMATCH\)/);
    expect(old.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);
});
