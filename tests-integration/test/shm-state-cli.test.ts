// The shm-state inspect CLI (built bin) against a real file.
import fs from 'node:fs';
import path from 'node:path';

import { SharedFd } from '@shmkit/shm-fd';
import { ShmState, t } from '@shmkit/shm-state';

import { bin, run } from './helpers/proc';

const CLI = bin('shm-state', 'shm-state');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'shm-state-cli-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('shm-state inspect', () => {
  it('lists regions and the state of each structure, without changing the file', async () => {
    const file = path.join(dir, 'state');
    const state = ShmState.openFile(file, { size: 1 << 20 });
    state.counter64('hits').increment(41);
    state.mpmcQueue('jobs', { capacity: 8, slotSize: 16 }).tryPush(Buffer.from('job'));
    const g = state.mutex('lock').tryLock();
    (state.struct('cfg', { layout: t.struct({ port: t.u16, name: t.bytes(8) }) }).view as unknown as { port: number }).port = 8080;
    const before = fs.readFileSync(file);
    const text = await run([CLI, 'inspect', '--file', file]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^4 region\(s\), \d+ bytes free\n/);
    expect(text.stdout).toMatch(/hits\tcounter64\toffset \d+\tlength 8\tv1\t\{"value":41\}/);
    expect(text.stdout).toMatch(/jobs\tmpmcQueue\t.*"length":1/);
    expect(text.stdout).toContain(`"holder":${process.pid},"holderAlive":true`);
    expect(text.stdout).toContain('{"layoutVersion":1,"data":{"port":8080,"name":""}}');
    const json = await run([CLI, 'inspect', '--file', file, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ entries: 64, regions: expect.arrayContaining([expect.objectContaining({ name: 'hits', state: { value: 41 } })]) });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    g?.unlock();
    state.close();
  });

  it('usage errors exit 2; corrupt or foreign files exit 1 with a message, no stack trace', async () => {
    const usage = await run([CLI, 'inspect']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toBe("shm-state: give exactly one of --file, --shm, --env\nTry 'shm-state --help'.\n");
    expect((await run([CLI, 'frobnicate'])).status).toBe(2);
    const file = path.join(dir, 'state');
    using fd = SharedFd.openFile(file, { create: true, size: 65536 });
    const zeros = await run([CLI, 'inspect', '--file', file]);
    expect(zeros.status).toBe(1);
    expect(zeros.stderr).toMatch(/no shm-state directory here/);
    {
      const s = ShmState.openFile(file);
      s.counter32('c');
      s.close();
    }
    fs.writeFileSync(file, Buffer.from('garbage!'), { flag: 'r+' });
    const bad = await run([CLI, 'inspect', '--file', file]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('shm-state: the region directory: the memory does not start with the shm-state magic; it holds something else or is corrupt; recreate it, or open the offset where it was created (ERR_SHM_STATE_BAD_HEADER)\n');
    const missing = await run([CLI, 'inspect', '--file', path.join(dir, 'nope')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    void fd;
  });
});
