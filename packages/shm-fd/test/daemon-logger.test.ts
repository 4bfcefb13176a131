import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DaemonLogger, isJournalStream, parseLogFormat, parseLogLevel } from '@shmkit/shm-fd';

function collect(): { lines: string[]; stderr: { write(t: string): boolean } } {
  const lines: string[] = [];
  return { lines, stderr: { write: (t: string) => lines.push(t) > 0 } };
}

describe('DaemonLogger', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daemon-logger-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes text lines with an ISO time and level, fields as key=value, and drops lines below its level', () => {
    const out = collect();
    const log = new DaemonLogger({ name: 'tinyd', level: 'info', env: {}, stderr: out.stderr });
    log.info('client registered', { client: 7, path: '/a b', bytes: 10 });
    log.debug('not shown');
    log.error('two\nlines');
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  tinyd: client registered client=7 path="\/a b" bytes=10\n$/);
    expect(out.lines[1]).toMatch(/ error tinyd: two lines\n$/);
  });

  it('writes JSON lines with time, level, msg and the fields', () => {
    const out = collect();
    const log = new DaemonLogger({ name: 'rmmapd', format: 'json', level: 'debug', env: {}, stderr: out.stderr });
    log.debug('closed', { client: '10.0.0.1:5', code: 'ERR_X', bytes: 3 });
    const o = JSON.parse(out.lines[0] as string) as Record<string, unknown>;
    expect(o).toMatchObject({ level: 'debug', name: 'rmmapd', msg: 'closed', client: '10.0.0.1:5', code: 'ERR_X', bytes: 3, pid: process.pid });
    expect(Number.isNaN(Date.parse(o['time'] as string))).toBe(false);
  });

  it('rate-limits lines a client can cause per key and counts what it held back', () => {
    const out = collect();
    const log = new DaemonLogger({ name: 'd', format: 'json', env: {}, stderr: out.stderr, limiter: { intervalMs: 60_000 } });
    for (let i = 0; i < 5; i++) log.limited('client 1 bad', 'warn', 'bad frame', { client: 1 });
    log.limited('client 2 bad', 'warn', 'bad frame', { client: 2 });
    expect(out.lines).toHaveLength(2);
  });

  it('uses <N> priorities and no timestamp when stderr is the journal stream', () => {
    const file = path.join(dir, 'journal-stand-in');
    const fd = fs.openSync(file, 'w');
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      const env = { JOURNAL_STREAM: `${st.dev}:${st.ino}` };
      expect(isJournalStream(env, fd)).toBe(true);
      expect(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, fd)).toBe(false);
      expect(isJournalStream({ JOURNAL_STREAM: 'junk' }, fd)).toBe(false);
      const out = collect();
      const log = new DaemonLogger({ name: 'tinyd', env, stderrFd: fd, stderr: out.stderr, level: 'debug' });
      expect(log.journal).toBe(true);
      log.error('e');
      log.warn('w');
      log.info('i');
      log.debug('d');
      expect(out.lines).toEqual(['<3>tinyd: e\n', '<4>tinyd: w\n', '<6>tinyd: i\n', '<7>tinyd: d\n']);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('appends to a log file it owns and re-opens it by path after it was moved away', () => {
    const file = path.join(dir, 'd.log');
    fs.writeFileSync(file, 'earlier\n', { mode: 0o600 });
    const log = new DaemonLogger({ name: 'd', file, env: {} });
    try {
      log.info('one');
      fs.renameSync(file, `${file}.1`);
      log.info('two');
      expect(log.reopen()).toBe(true);
      log.info('three');
      expect(fs.readFileSync(`${file}.1`, 'utf8')).toMatch(/^earlier\n.*d: one\n.*d: two\n$/);
      expect(fs.readFileSync(file, 'utf8')).toMatch(/^.*d: three\n$/);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      log.close();
    }
  });

  it('refuses a log file path that is a symlink', () => {
    const link = path.join(dir, 'link.log');
    fs.symlinkSync('/etc/passwd', link);
    expect(() => new DaemonLogger({ name: 'd', file: link, env: {} })).toThrow(expect.objectContaining({ code: 'ERR_SHM_UNSAFE_PATH' }));
  });

  it('parses --log-level and --log-format, naming the choices on error', () => {
    expect(parseLogLevel('warn')).toBe('warn');
    expect(parseLogFormat('json')).toBe('json');
    expect(() => parseLogLevel('verbose')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringContaining('error, warn, info, debug') }));
    expect(() => parseLogFormat('xml')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });
});
