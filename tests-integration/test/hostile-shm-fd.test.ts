import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

import { bin, killAll, run } from './helpers/proc';

// A second local user plants things in /dev/shm (sticky, world-writable)
// before `shm-fd` runs there with --file or --shm. Each planting is done by a
// real process of uid 65534; shm-fd (root here) must refuse it and change
// nothing the other user could then read.
const shmFd = bin('shm-fd', 'shm-fd');
const isRoot = process.geteuid?.() === 0;
const other = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const maybe = isRoot ? describe : describe.skip;
if (!isRoot) console.log('hostile-shm-fd: skipped (needs root to act as a second uid)');

afterEach(killAll);

function asOther(script: string): void {
  execFileSync(other[0] as string, [...other.slice(1), 'sh', '-c', script]);
}

maybe('shm-fd against files planted by another user', () => {
  const tag = `hostile-shm-fd-${process.pid}`;
  const planted = `/dev/shm/${tag}`;
  const victim = `/dev/shm/${tag}-victim`;
  afterEach(() => {
    for (const f of [planted, victim]) fs.rmSync(f, { force: true });
  });

  it('refuses --file through a symlink the other user planted; the target is never created', async () => {
    asOther(`ln -s ${victim} ${planted}`);
    const r = await run([shmFd, 'run', '--file', planted, '--size', '4k', '--', 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is a symlink/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(victim)).toBe(false);
  });

  it('refuses --file that the other user pre-created to read what we write, and leaves it as it was', async () => {
    asOther(`umask 000; printf bait > ${planted}`);
    const r = await run([shmFd, 'run', '--file', planted, '--size', '64k', '--', 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/owned by uid 65534/);
    expect(fs.readFileSync(planted, 'utf8')).toBe('bait');
  });

  it('refuses --shm /name that the other user created first', async () => {
    asOther(`umask 077; : > ${planted}`);
    const r = await run([shmFd, 'run', '--shm', `/${tag}`, '--size', '64k', '--', 'true']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`POSIX shared memory /${tag} is owned by uid 65534`));
    expect(fs.statSync(planted).size).toBe(0);
  });

  it('still creates its own --shm 0600 and passes it on', async () => {
    const r = await run([shmFd, 'run', '--shm', `/${tag}`, '--size', '64k', '--', 'sh', '-c', 'test -e /proc/self/fd/3']);
    expect(r.status).toBe(0);
    expect(fs.statSync(planted).mode & 0o777).toBe(0o600);
    expect(fs.statSync(planted).size).toBe(64 * 1024);
  });
});
