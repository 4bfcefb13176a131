// @shmkit/ipcbuffer against a hostile second user (uid 65534, a real other
// uid through setpriv) that plants symlinks, files, POSIX objects and System
// V segments where an ipcbuffer user will look, and against sizes no Buffer
// can hold. The victim is always a separate process (fixtures/hostile-ipcbuffer/open.js).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { constants as bufferConstants } from 'node:buffer';

import { IPCBuffer } from '@shmkit/ipcbuffer';
import * as sys from '@shmkit/shm-fd/sys';

import { bin, killAll, run } from './helpers/proc';

const NOBODY = 65534;
const asRoot = process.geteuid?.() === 0;
if (!asRoot) console.log('hostile-ipcbuffer: not root, so the tests with a second uid (setpriv) are skipped');
const describeAsRoot = asRoot ? describe : describe.skip;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-ipcbuffer-'));
fs.chmodSync(tmp, 0o755); // uid 65534 reaches its own directory inside
const theirs = path.join(tmp, 'theirs');
fs.mkdirSync(theirs, { mode: 0o755 });
if (asRoot) fs.chownSync(theirs, NOBODY, NOBODY);
const registry = path.join(tmp, 'registry');
const env = { ...process.env, SHMKIT_IPCBUFFER_REGISTRY: registry };
process.env['SHMKIT_IPCBUFFER_REGISTRY'] = registry;
const fixtures = path.join(__dirname, 'fixtures', 'hostile-ipcbuffer');
const cli = bin('ipcbuffer', 'ipcbuffer');

let n = 0;
const name = () => `/hostile-ipcbuffer-${process.pid}-${++n}`;
const key = () => 0x4d000000 + ((process.pid & 0xffff) << 8) + (++n & 0xff);

const undo: (() => void)[] = [];
afterEach(async () => {
  await killAll();
  while (undo.length > 0) {
    try {
      undo.pop()?.();
    } catch {
      // already removed by the test
    }
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs `args` (a node script and its arguments) as uid 65534. */
function asNobody(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return run(['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], { cwd: __dirname, env: { ...env, ...extraEnv }, cmd: 'setpriv' });
}

async function plant(...actions: (string | number)[]): Promise<void> {
  const r = await asNobody([path.join(fixtures, 'plant.js'), ...actions.map(String)]);
  if (r.status !== 0) throw new Error(`plant.js failed (${r.status}): ${r.stderr}`);
}

/** The victim process: one line per call ("ok …" / "error CODE message"). */
async function victim(...calls: unknown[][]) {
  const r = await run([path.join(fixtures, 'open.js'), ...calls.map((c) => JSON.stringify(c))], { cwd: __dirname, env });
  return { ...r, lines: r.stdout.trim().split('\n') };
}

const shmPath = (nm: string) => `/dev/shm${nm}`;
const removeShm = (nm: string) => () => fs.rmSync(shmPath(nm), { force: true });
const removeKey = (k: number) => () => sys.sysvRemove(sys.shmget(k, 0, 0));
const segmentExists = (k: number) => {
  try {
    sys.shmget(k, 0, 0);
    return true;
  } catch {
    return false;
  }
};
const registryIds = () => {
  try {
    return fs.readdirSync(registry).map((f) => (JSON.parse(fs.readFileSync(path.join(registry, f), 'utf8')) as { id: string }).id);
  } catch {
    return [];
  }
};

describeAsRoot('objects planted by another uid are refused, never written', () => {
  it('a symlink planted in /dev/shm: posix, the "*name" form, file and Mutex.open refuse it; its target is untouched', async () => {
    const nm = name();
    const target = path.join(theirs, 'target');
    await plant('file', target, '0o644', 0, 'symlink', shmPath(nm), target);
    undo.push(removeShm(nm), () => fs.rmSync(target, { force: true }));
    const r = await victim(['posix', nm, 4096], ['IPCBuffer', 4096, `*${nm}`], ['file', shmPath(nm), 4096], ['mutex', nm]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    for (const line of r.lines) expect(line).toMatch(/^error ERR_SHM_UNSAFE_PATH .*symlink/);
    expect(r.lines).toHaveLength(4);
    expect(fs.readFileSync(target, "latin1")).toBe("planted");
    expect(fs.lstatSync(shmPath(nm)).isSymbolicLink()).toBe(true);
    expect(registryIds()).not.toContain(nm);
  });

  it('a file pre-created in /dev/shm by uid 65534 (0666 or 0644) is refused by posix and file, neither written nor grown', async () => {
    const open = name();
    const closed = name();
    await plant('posix', open, '0o666', 100, 'posix', closed, '0o644', 100);
    undo.push(removeShm(open), removeShm(closed));
    const r = await victim(['posix', open, 4096], ['posix', closed], ['IPCBuffer', 4096, `*${closed}`], ['file', shmPath(open), 4096], ['file', shmPath(closed)]);
    expect(r.stderr).toBe('');
    expect(r.lines).toHaveLength(5);
    for (const line of r.lines) expect(line).toMatch(/^error ERR_SHM_UNSAFE_PATH .*uid 65534/);
    for (const nm of [open, closed]) {
      expect(fs.statSync(shmPath(nm)).size).toBe(100);
      expect(fs.readFileSync(shmPath(nm)).toString('latin1', 0, 11)).toBe('planted\0\0\0\0');
    }
  });

  it('a System V segment uid 65534 made under our key is refused (both forms), its bytes untouched', async () => {
    const k = key();
    await plant('sysv', k, '0o666', 4096);
    undo.push(removeKey(k));
    const r = await victim(['sysv', k, 4096], ['IPCBuffer', 4096, k], ['sysv', k]);
    expect(r.stderr).toBe('');
    expect(r.lines).toHaveLength(3);
    for (const line of r.lines) expect(line).toMatch(/^error ERR_SHM_UNSAFE_PATH System V segment 0x[0-9a-f]{8} is owned by uid 65534/);
    const m = sys.sysvAttach(sys.shmget(k, 0, 0));
    try {
      expect(m.buffer.toString('latin1', 0, 11)).toBe('planted\0\0\0\0');
    } finally {
      m.close();
    }
  });
});

describeAsRoot('ipcbuffer rm removes only what this uid created', () => {
  it('objects uid 65534 created: refused without --force (exit 1, names the object and the flag); root removes them with --force', async () => {
    const nm = name();
    const k = key();
    await plant('posix', nm, '0o600', 4096, 'sysv', k, '0o600', 4096);
    undo.push(removeShm(nm), removeKey(k));
    const kept = await run([cli, 'rm', nm, String(k)], { env });
    expect(kept.status).toBe(1);
    expect(kept.stderr).toContain(`ipcbuffer: cannot remove ${nm}: POSIX shared memory ${nm} was not created through ipcbuffer by uid 0`);
    expect(kept.stderr).toContain(`pass --force to remove it anyway (ipcbuffer rm --force ${nm})`);
    expect(kept.stderr).toContain(`ipcbuffer: cannot remove ${k}: System V segment ${k}`);
    expect(kept.stderr).toContain(`(ipcbuffer rm --force ${k})`);
    expect(kept.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(shmPath(nm))).toBe(true);
    expect(segmentExists(k)).toBe(true);

    const forced = await run([cli, 'rm', '--force', nm, String(k)], { env });
    expect(forced.stderr).toBe('');
    expect(forced.status).toBe(0);
    expect(forced.stdout).toBe(`removed posix ${nm}\nremoved sysv ${k} (0x${k.toString(16).padStart(8, '0')})\n`);
    expect(fs.existsSync(shmPath(nm))).toBe(false);
    expect(segmentExists(k)).toBe(false);
  });

  it('uid 65534 cannot remove our objects, with or without --force', async () => {
    const nm = name();
    const k = key();
    const p = IPCBuffer.posix(nm, 4096);
    const s = IPCBuffer.sysv(k, 4096);
    undo.push(() => { p.close(); s.close(); IPCBuffer.unlink(nm); }, () => IPCBuffer.removeSysv(k));
    const theirRegistry = { SHMKIT_IPCBUFFER_REGISTRY: path.join(theirs, 'registry') };
    const plain = await asNobody([cli, 'rm', nm, String(k)], theirRegistry);
    expect(plain.status).toBe(1);
    expect(plain.stderr).toMatch(/was not created through ipcbuffer by uid 65534 .*pass --force/);
    const forced = await asNobody([cli, 'rm', '--force', nm, String(k)], theirRegistry);
    expect(forced.status).toBe(1);
    expect(forced.stderr).toContain(`POSIX shared memory ${nm} belongs to uid 0, not to uid 65534; only its owner can remove it`);
    expect(forced.stderr).toMatch(new RegExp(`System V segment ${k} \\(0x[0-9a-f]{8}\\) belongs to uid 0, not to uid 65534; only its owner can remove it`));
    expect(forced.stderr).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(shmPath(nm))).toBe(true);
    expect(segmentExists(k)).toBe(true);
  });
});

describe('sizes no Buffer can hold are refused before anything exists', () => {
  const limit = `${bufferConstants.MAX_LENGTH} bytes, buffer.constants.MAX_LENGTH`;

  it('100 GiB for posix, file, sysv and the constructor forms: ERR_SHM_SIZE_TOO_LARGE naming the limit, nothing created, no crash', async () => {
    const nm = name();
    const k = key();
    const file = path.join(tmp, 'huge.bin');
    const size = 100 * 2 ** 30;
    undo.push(removeShm(nm), () => fs.rmSync(file, { force: true }));
    const r = await victim(['posix', nm, size], ['IPCBuffer', size, `*${nm}`], ['file', file, size], ['IPCBuffer', size, file], ['sysv', k, size], ['IPCBuffer', size, k], ['anonymous', size]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.lines).toHaveLength(7);
    for (const line of r.lines) {
      expect(line).toMatch(/^error ERR_SHM_SIZE_TOO_LARGE length of 107374182400 bytes is more than/);
      expect(line).toContain(limit);
    }
    expect(fs.existsSync(shmPath(nm))).toBe(false);
    expect(fs.existsSync(file)).toBe(false);
    expect(segmentExists(k)).toBe(false);
    expect(registryIds()).toEqual([]);
  });

  it('an existing 5 GiB object, file or segment (made by a peer process) opened without a length: ERR_SHM_SIZE_TOO_LARGE, no mapping', async () => {
    const nm = name();
    const k = key();
    const file = path.join(tmp, 'five-gib.bin');
    const five = 5 * 2 ** 30;
    const peer = await run([path.join(fixtures, 'plant.js'), 'posix', nm, '0o600', String(five), 'file', file, '0o600', String(five), 'sysv', String(k), '0o600', String(five)], { cwd: __dirname, env });
    expect(peer.stderr).toBe('');
    undo.push(removeShm(nm), () => fs.rmSync(file, { force: true }), removeKey(k));
    const r = await victim(['posix', nm], ['file', file], ['sysv', k]);
    expect(r.stderr).toBe('');
    expect(r.lines).toEqual([
      expect.stringMatching(new RegExp(`^error ERR_SHM_SIZE_TOO_LARGE POSIX shared memory ${nm} of ${five} bytes is more than`)),
      expect.stringMatching(new RegExp(`^error ERR_SHM_SIZE_TOO_LARGE ${file} of ${five} bytes is more than`)),
      expect.stringMatching(new RegExp(`^error ERR_SHM_SIZE_TOO_LARGE System V segment 0x[0-9a-f]{8} of ${five} bytes is more than`)),
    ]);
    expect(sys.sysvStat(sys.shmget(k, 0, 0)).attached).toBe(0);
  });
});
