// The write journal (src/server/journal*.ts) on its own: hand-built files,
// no sockets, no child processes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { crc32Fallback } from '../src/crc32';
import { JOURNAL_MAGIC } from '../src/server/journal-format';
import { type JournalSnapshot, type RestoredState, WriteJournal } from '../src/server/journal';
import { defaultJournalPath, ensurePrivateDir } from '../src/server/journal-location';
import { loadJournal } from '../src/server/journal-load';
import { reapplyLast } from '../src/server/journal-replay';

let dir: string;
let root: string;
let file: string;
const open: WriteJournal[] = [];
const logs: string[] = [];

const S1 = '11'.repeat(16);
const S2 = '22'.repeat(16);
const noSnapshot = (): JournalSnapshot => {
  throw new Error('no compaction expected');
};

function openJournal(maxBytes?: number): { journal: WriteJournal; state: RestoredState } {
  const r = WriteJournal.open({ path: file, rootReal: root, maxBytes, log: (l) => logs.push(l) });
  open.push(r.journal);
  return r;
}

function flip(b: Buffer, at: number): void {
  b.writeUInt8(b.readUInt8(at) ^ 0xff, at);
}

function write(j: WriteJournal, session: string, requestId: number, version: number, data: string, extra: { lowWater?: number; path?: string; offset?: number } = {}) {
  j.appendWrite(
    { session, requestId, lowWater: extra.lowWater ?? 1, version, path: extra.path ?? 'f.bin', offset: extra.offset ?? 0 },
    Buffer.from(data),
    noSnapshot,
  );
}

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rmmap-journal-')));
  root = path.join(dir, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'f.bin'), Buffer.alloc(64, 0x2e));
  file = path.join(dir, 'j.journal');
  logs.length = 0;
});

afterEach(() => {
  for (const j of open.splice(0)) j.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('round trip: sessions, versions and the last write come back', () => {
  const { journal, state } = openJournal();
  expect(state.records).toBe(0);
  write(journal, S1, 1, 1, 'aaaa');
  write(journal, S2, 7, 2, 'bbbb', { offset: 8 });
  write(journal, S1, 2, 3, 'cc', { offset: 16, lowWater: 2 });
  journal.close();
  const again = openJournal().state;
  // lowWater 2 in the third record pruned request 1, as the server did.
  expect([...(again.sessions.get(S1) ?? [])]).toEqual([[2, 3]]);
  expect([...(again.sessions.get(S2) ?? [])]).toEqual([[7, 2]]);
  expect(again.fileVersions.get('f.bin')).toBe(3);
  expect(again.last).toMatchObject({ session: S1, requestId: 2, version: 3, path: 'f.bin', offset: 16 });
  expect(again.last?.data.toString()).toBe('cc');
  expect(logs.filter((l) => l.includes('dropped'))).toEqual([]);
});

test('a torn tail (a record cut short by kill -9) is truncated away with a log line', () => {
  const { journal } = openJournal();
  write(journal, S1, 1, 1, 'aaaa');
  const whole = journal.size;
  write(journal, S1, 2, 2, 'bbbb');
  journal.close();
  fs.truncateSync(file, fs.statSync(file).size - 3);
  const { state } = openJournal();
  expect(logs.join('\n')).toMatch(/dropped a record cut short .* at byte \d+/);
  expect(fs.statSync(file).size).toBe(whole);
  expect([...(state.sessions.get(S1) ?? [])]).toEqual([[1, 1]]);
  expect(state.last?.requestId).toBe(1);
});

test('a live journal (as kill -9 leaves it: records, then reserved zeros) reads back whole', () => {
  const { journal } = openJournal();
  write(journal, S1, 1, 1, 'aaaa');
  write(journal, S2, 2, 2, 'bbbb');
  // Not closed: the file is still grown past the records, as after a kill -9.
  expect(fs.statSync(file).size).toBeGreaterThan(journal.size);
  const fd = fs.openSync(file, 'r');
  try {
    const loaded = loadJournal(fd, file, root);
    expect(loaded.tornReason).toBeUndefined();
    expect(loaded.validEnd).toBe(journal.size);
    expect(loaded.state.last).toMatchObject({ session: S2, requestId: 2 });
  } finally {
    fs.closeSync(fd);
  }
});

test('a record killed while being written (length field still 0) is dropped with a log line', () => {
  const { journal } = openJournal();
  write(journal, S1, 1, 1, 'aaaa');
  const second = journal.size;
  write(journal, S1, 2, 2, 'bbbb');
  journal.close();
  const bytes = fs.readFileSync(file);
  bytes.writeUInt32BE(0, second); // the commit of the second record never happened
  fs.writeFileSync(file, bytes);
  const { state } = openJournal();
  expect(logs.join('\n')).toMatch(/dropped an unfinished record .* at byte \d+/);
  expect(state.last?.requestId).toBe(1);
  expect([...(state.sessions.get(S1) ?? [])]).toEqual([[1, 1]]);
  expect(fs.statSync(file).size).toBe(second);
});

test('a last record failing its CRC is a torn tail too; one in the middle refuses to start', () => {
  const { journal } = openJournal();
  write(journal, S1, 1, 1, 'aaaa');
  const first = journal.size;
  write(journal, S1, 2, 2, 'bbbb');
  journal.close();
  const bytes = fs.readFileSync(file);
  flip(bytes, bytes.length - 1); // the last record's data
  fs.writeFileSync(file, bytes);
  expect(openJournal().state.last?.requestId).toBe(1);
  expect(logs.join('\n')).toMatch(/dropped a last record failing its CRC/);
  open.pop()?.close();

  const j = openJournal().journal;
  write(j, S1, 2, 2, 'bbbb');
  j.close();
  const again = fs.readFileSync(file);
  flip(again, first - 1); // the first record's data, with a good record behind it
  fs.writeFileSync(file, again);
  let err: unknown;
  try {
    openJournal();
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ code: 'ERR_RMMAP_JOURNAL_CORRUPT' });
  expect((err as Error).message).toMatch(/fails its CRC and more records follow.*mv /);
  // Refusing leaves the file alone and the lock free.
  expect(fs.readFileSync(file).equals(again)).toBe(true);
  expect(fs.existsSync(`${file}.lock`)).toBe(false);
});

test('a file that is not a journal is refused, not overwritten', () => {
  fs.writeFileSync(file, 'precious data, not a journal\n');
  expect(() => openJournal()).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_CORRUPT', message: expect.stringMatching(/wrong magic/) }));
  expect(fs.readFileSync(file, 'utf8')).toBe('precious data, not a journal\n');
});

test('a journal torn while it was being created starts over', () => {
  fs.writeFileSync(file, JOURNAL_MAGIC.subarray(0, 5));
  expect(openJournal().state.records).toBe(0);
  expect(logs.join('\n')).toMatch(/incomplete header/);
});

test('another root\'s journal is refused', () => {
  openJournal().journal.close();
  const other = path.join(dir, 'other');
  fs.mkdirSync(other);
  expect(() => WriteJournal.open({ path: file, rootReal: other })).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_ROOT' }));
});

test.each([['../outside.bin'], ['/etc/passwd'], ['a/../../x']])('a record whose path %j escapes the root is refused', (bad) => {
  const { journal } = openJournal();
  write(journal, S1, 1, 1, 'aaaa');
  write(journal, S1, 2, 2, 'evil', { path: bad });
  journal.close();
  expect(() => openJournal()).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_BAD_PATH' }));
});

test('re-applying the last write: idempotent bytes, symlink escapes refused, shrunk files skipped', () => {
  const rec = { session: S1, requestId: 1, lowWater: 1, version: 1, path: 'f.bin', offset: 4, data: Buffer.from('XY') };
  const log: string[] = [];
  expect(reapplyLast(root, rec, file, (l) => log.push(l))).toBe(true);
  expect(reapplyLast(root, rec, file, (l) => log.push(l))).toBe(true);
  expect(fs.readFileSync(path.join(root, 'f.bin')).subarray(0, 8).toString()).toBe('....XY..');

  fs.writeFileSync(path.join(dir, 'outside.bin'), Buffer.alloc(64));
  fs.symlinkSync(path.join(dir, 'outside.bin'), path.join(root, 'link.bin'));
  expect(() => reapplyLast(root, { ...rec, path: 'link.bin' }, file, () => {})).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_BAD_PATH' }));
  expect(fs.readFileSync(path.join(dir, 'outside.bin')).equals(Buffer.alloc(64))).toBe(true);

  expect(reapplyLast(root, { ...rec, offset: 63 }, file, (l) => log.push(l))).toBe(false);
  expect(reapplyLast(root, { ...rec, path: 'gone.bin' }, file, (l) => log.push(l))).toBe(false);
  expect(log.join('\n')).toMatch(/shrank[\s\S]*gone\.bin/);
  expect(fs.statSync(path.join(root, 'f.bin')).size).toBe(64);
});

test('compaction keeps every live session\'s dedupe table and the file versions, and bounds the file', () => {
  const { journal } = openJournal(4096);
  // The model of the server's state the snapshot is taken from.
  const sessions = new Map<string, Map<number, number>>([
    [S1, new Map()],
    [S2, new Map()],
  ]);
  let version = 0;
  let compactions = 0;
  const snapshot = (): JournalSnapshot => {
    compactions++;
    return { sessions: [...sessions], files: [['f.bin', version]] };
  };
  for (let i = 1; i <= 300; i++) {
    const s = i % 2 === 0 ? S1 : S2;
    const table = sessions.get(s) as Map<number, number>;
    const lowWater = Math.max(1, i - 6); // the client awaits at most a few
    for (const k of [...table.keys()]) if (k < lowWater) table.delete(k);
    version++;
    journal.appendWrite({ session: s, requestId: i, lowWater, version, path: 'f.bin', offset: i % 60 }, Buffer.from(`w${i}`.padEnd(8)), snapshot);
    table.set(i, version);
    expect(journal.size).toBeLessThanOrEqual(4096);
  }
  expect(compactions).toBeGreaterThan(2);
  expect(logs.join('\n')).toMatch(/compacted \d+ bytes to \d+/);
  journal.close();
  const { state } = openJournal();
  expect(state.sessions).toEqual(sessions);
  expect(state.fileVersions.get('f.bin')).toBe(300);
  expect(state.last?.requestId).toBe(300);
  expect(fs.existsSync(`${file}.compact`)).toBe(false);
});

test('close with a snapshot leaves a compacted journal without data', () => {
  const { journal } = openJournal();
  write(journal, S1, 1, 1, 'x'.repeat(1000));
  journal.close({ sessions: [[S1, new Map([[1, 1]])]], files: [['f.bin', 1]] });
  expect(fs.statSync(file).size).toBeLessThan(200);
  const { state } = openJournal();
  expect(state.last).toBeUndefined();
  expect([...(state.sessions.get(S1) ?? [])]).toEqual([[1, 1]]);
});

test('a second opener is refused while the lock is held, naming the holder\'s pid', () => {
  const { journal } = openJournal();
  expect(() => WriteJournal.open({ path: file, rootReal: root })).toThrow(
    expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_LOCKED', message: expect.stringContaining(`pid ${process.pid}`) }),
  );
  journal.close();
  expect(fs.existsSync(`${file}.lock`)).toBe(false);
  openJournal();
});

test('unsafe places are refused: a symlink, a world-writable file, a file inside the root, a shared directory', () => {
  fs.writeFileSync(path.join(dir, 'target'), '');
  fs.symlinkSync(path.join(dir, 'target'), file);
  expect(() => openJournal()).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_UNSAFE', message: expect.stringMatching(/symlink/) }));
  fs.unlinkSync(file);

  fs.writeFileSync(file, '', { mode: 0o666 });
  fs.chmodSync(file, 0o666);
  expect(() => openJournal()).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_UNSAFE', message: expect.stringMatching(/world-writable/) }));
  fs.unlinkSync(file);

  expect(() => WriteJournal.open({ path: path.join(root, 'j'), rootReal: root })).toThrow(
    expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_UNSAFE', message: expect.stringMatching(/inside the served root/) }),
  );
  expect(fs.existsSync(path.join(root, 'j'))).toBe(false);

  const shared = path.join(dir, 'shared');
  fs.mkdirSync(shared);
  fs.chmodSync(shared, 0o777);
  expect(() => ensurePrivateDir(shared)).toThrow(expect.objectContaining({ code: 'ERR_RMMAP_JOURNAL_UNSAFE' }));
  const fresh = path.join(dir, 'fresh');
  ensurePrivateDir(fresh);
  expect(fs.statSync(fresh).mode & 0o777).toBe(0o700);

  openJournal();
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
});

test('the default journal is named after the root and lives in the runtime directory', () => {
  const a = defaultJournalPath('/srv/a', { XDG_RUNTIME_DIR: '/run/user/1000' });
  expect(a).toMatch(/^\/run\/user\/1000\/rmmapd\/[0-9a-f]{32}\.journal$/);
  expect(defaultJournalPath('/srv/b', { XDG_RUNTIME_DIR: '/run/user/1000' })).not.toBe(a);
  expect(defaultJournalPath('/srv/a', {})).toMatch(new RegExp(`^/tmp/rmmapd-${process.getuid?.() ?? 0}/`));
});

test('the crc32 fallback for Node < 20.15 matches zlib', () => {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  expect(crc32Fallback(data)).toBe(0x414fa339);
  expect(crc32Fallback(data.subarray(10), crc32Fallback(data.subarray(0, 10)))).toBe(0x414fa339);
  if (native !== undefined) expect(native(data)).toBe(0x414fa339);
});

test('a compaction that fails (a stale .compact we may not remove) is logged and the journal keeps working', () => {
  const { journal } = openJournal(4096);
  // A directory where the temporary file goes: unlink fails (EISDIR), so compaction fails.
  fs.mkdirSync(`${file}.compact`);
  let snapshots = 0;
  const snapshot = (): JournalSnapshot => {
    snapshots++;
    return { sessions: [], files: [] };
  };
  for (let i = 1; i <= 100; i++) journal.appendWrite({ session: S1, requestId: i, lowWater: i, version: i, path: 'f.bin', offset: 0 }, Buffer.alloc(64), snapshot);
  expect(logs.join('\n')).toMatch(/compacting the journal .* failed: EISDIR.*; the journal keeps growing/);
  expect(journal.size).toBeGreaterThan(4096);
  // Retried when the journal doubled, not on every append.
  expect(snapshots).toBeLessThan(5);
  fs.rmdirSync(`${file}.compact`);
  journal.close();
  expect(openJournal().state.last?.requestId).toBe(100);
});
