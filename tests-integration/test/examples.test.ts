// The examples under examples/ run as a user runs them: plain `node` on
// the built packages, as separate processes, against real daemons.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { decompressFramed } from '@shmkit/tinyfile/codec';

import { bin, killAll, repoRoot, run, start } from './helpers/proc';

const examples = path.join(repoRoot, 'examples');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-it-'));
});
afterEach(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('examples/tinyfile', () => {
  function tree(root: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>([
      ['a.txt', Buffer.from('hello tinyd\n'.repeat(1000))],
      ['empty', Buffer.alloc(0)],
      ['sub/deeper/big.log', Buffer.from(Array.from({ length: 60000 }, (_, i) => `line ${i} ${i % 7 === 0 ? 'seven' : 'other'}\n`).join(''))],
      ['sub/random.bin', Buffer.from(Array.from({ length: 200000 }, (_, i) => (i * 7919) & 0xff))],
    ]);
    for (const [rel, data] of files) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), data);
    }
    fs.symlinkSync(path.join(root, 'a.txt'), path.join(root, 'link-to-a'));
    return files;
  }

  it.each(['compress-sync.js', 'compress-async.js'])('%s compresses a directory through tinyd', async (program) => {
    const runtime = path.join(dir, 'runtime');
    fs.mkdirSync(runtime, { mode: 0o700 });
    const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
    const tinyd = start([bin('tinyfile', 'tinyd')], { env });
    await tinyd.waitFor(/listening on/);
    const input = path.join(dir, 'in');
    const output = path.join(dir, 'out');
    const files = tree(input);

    const r = await run([path.join(examples, 'tinyfile', program), input, output], { env });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    const total = [...files.values()].reduce((n, b) => n + b.length, 0);
    expect(r.stdout).toMatch(new RegExp(`^(sync|async): 4 files, ${total} → \\d+ bytes`));

    for (const [rel, data] of files) {
      const sz = fs.readFileSync(path.join(output, `${rel}.sz`));
      expect(decompressFramed(sz).equals(data)).toBe(true);
    }
    expect(fs.existsSync(path.join(output, 'link-to-a.sz'))).toBe(false);
  });

  it.each(['compress-sync.js', 'compress-async.js'])('%s without a daemon says how to start one', async (program) => {
    const runtime = path.join(dir, 'runtime');
    fs.mkdirSync(runtime, { mode: 0o700 });
    fs.mkdirSync(path.join(dir, 'in'));
    const r = await run([path.join(examples, 'tinyfile', program), path.join(dir, 'in'), path.join(dir, 'out')], { env: { ...process.env, XDG_RUNTIME_DIR: runtime } });
    expect(r.status).toBe(1);
    // One line naming the program and the missing daemon, no stack trace.
    expect(r.stderr).toMatch(new RegExp(`^${program.replace('.', '\\.')}: .*tinyd.*\n$`));
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('says how to call it', async () => {
    const r = await run([path.join(examples, 'tinyfile', 'compress-sync.js')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^usage: node compress-sync\.js DIR OUT/);
  });
});

describe('examples/rmmap', () => {
  it('two editors of one file see each other’s changes', async () => {
    const root = path.join(dir, 'root');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'notes.txt'), Buffer.alloc(4096));
    const rmmapd = start([bin('rmmap', 'rmmapd'), '--root', root, '--port', '0', '--no-journal']);
    const where = (await rmmapd.waitFor(/listening on 127\.0\.0\.1:\d+/)).replace('listening on ', '');

    const editor = path.join(examples, 'rmmap', 'editor.js');
    const [alice, bob] = await Promise.all([run([editor, 'alice', '0', where, 'notes.txt']), run([editor, 'bob', '1', where, 'notes.txt'])]);
    for (const [name, other, r] of [['alice', 'bob', alice], ['bob', 'alice', bob]] as const) {
      expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: '' });
      expect(r.stdout).toContain(`${name}: wrote round 5`);
      expect(r.stdout).toContain(`${name}: saw "${other} `);
      expect(r.stdout).toContain(`${name}: done after 5 rounds`);
    }
    const text = fs.readFileSync(path.join(root, 'notes.txt')).subarray(0, 128);
    expect(text.subarray(0, 64).toString().replace(/\0+$/, '')).toBe('alice 5\n');
    expect(text.subarray(64).toString().replace(/\0+$/, '')).toBe('bob 5\n');
  });
});

describe('examples/ipcbuffer', () => {
  it.each([['consumer', 'producer'], ['producer', 'consumer']])('%s started first', async (first, second) => {
    const name = `shmkit-example-it-${process.pid}-${first}`;
    const script = (who: string) => path.join(examples, 'ipcbuffer', `${who}.js`);
    const a = start([script(first), name]);
    const b = await run([script(second), name]);
    const ra = await a.exited;
    const out = first === 'producer' ? { producer: a.stdout(), consumer: b.stdout } : { producer: b.stdout, consumer: a.stdout() };
    expect({ status: [ra.status, b.status], stderr: a.stderr() + b.stderr }).toEqual({ status: [0, 0], stderr: '' });
    expect(out.producer).toBe('producer: wrote 1000 values\n');
    expect(out.consumer).toBe('consumer: read 1000 values, all as written\n');
    // The consumer removed the names when it was done.
    expect(fs.existsSync(`/dev/shm/${name}`)).toBe(false);
    expect(fs.existsSync(`/dev/shm/${name}.lock`)).toBe(false);
  });
});
