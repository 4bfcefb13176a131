import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { main, USAGE } from '../src/cli';

async function cli(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { status, out, err };
}

describe('shm-push CLI usage', () => {
  it.each([
    [[], 'missing command'],
    [['push'], 'unknown command "push"'],
    [['send'], 'missing FILE'],
    [['send', 'file'], 'missing HOST:PORT'],
    [['send', 'file', 'nohost'], 'invalid destination "nohost"'],
    [['send', 'file', 'h:99999'], 'invalid destination'],
    [['send', '--bogus', 'file', 'h:1'], 'unknown option --bogus'],
    [['send', '--checksum', 'md5', 'file', 'h:1'], '--checksum must be sha256, crc32, xxh64'],
    [['send', '--name', '../x', 'file', 'h:1'], 'cannot push under the name "../x"'],
    [['receive', '--dir', '/tmp'], '--port is required'],
    [['receive', '--port', '1'], '--dir is required'],
    [['receive', '--port', 'http', '--dir', '/tmp'], '--port must be 0..65535'],
    [['receive', '--port', '70000', '--dir', '/tmp'], '--port must be 0..65535'],
    [['receive', '--port', '1', '--dir', '/tmp', 'extra'], 'unexpected argument "extra"'],
    [['receive', '--port', '1', '--dir', '/tmp', '--max-size', 'lots'], '--max-size must be a size'],
  ])('%j → exit 2 naming the problem, pointing to --help, no stack', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.status).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toMatch(/\nTry 'shm-push --help'\.\n$/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
  });

  it('prints help and version on stdout with status 0', async () => {
    for (const argv of [['--help'], ['-h'], ['send', '--help'], ['receive', '-h']]) {
      expect(await cli(...argv)).toEqual({ status: 0, out: USAGE, err: '' });
    }
    const v = await cli('--version');
    expect(v.status).toBe(0);
    expect(v.out).toMatch(/^shm-push \d+\.\d+\.\d+\n$/);
  });

  it('reports an unreadable or empty --token-file as an error (status 1)', async () => {
    const missing = path.join(os.tmpdir(), `rmmap-no-token-${process.pid}`);
    const r = await cli('send', '--token-file', missing, __filename, '127.0.0.1:9');
    expect(r.status).toBe(1);
    expect(r.err).toContain(`cannot read --token-file ${missing}`);
    const empty = path.join(os.tmpdir(), `rmmap-empty-token-${process.pid}`);
    fs.writeFileSync(empty, '\n');
    try {
      const e = await cli('receive', '--port', '0', '--dir', os.tmpdir(), '--token-file', empty);
      expect(e.status).toBe(1);
      expect(e.err).toContain('is empty');
    } finally {
      fs.rmSync(empty);
    }
  });

  it('reports a missing file or directory as an error (status 1), not a usage error', async () => {
    const missing = path.join(os.tmpdir(), `rmmap-no-such-${process.pid}`);
    const send = await cli('send', missing, '127.0.0.1:9');
    expect(send.status).toBe(1);
    expect(send.err).toContain('ENOENT');
    expect(send.err).not.toMatch(/\n\s+at /);
    const recv = await cli('receive', '--port', '0', '--dir', missing);
    expect(recv.status).toBe(1);
    expect(recv.err).toContain('create it first');
    expect(fs.existsSync(missing)).toBe(false);
  });
});
