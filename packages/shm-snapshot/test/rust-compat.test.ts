// Compatibility with the Rust shm-snapshot crate, using vectors it produced
// as the oracle (test/fixtures/rust-oracle/generate.sh regenerates them):
// files written by the Rust writer are read correctly by us, and files our
// writer produces (byte for byte the same today) were read correctly by it.
import fs from 'node:fs';
import path from 'node:path';

import { make, OURS } from './fixtures/rust-oracle/ours';
import { SnapshotFile } from '../src/index';

interface Vector {
  size: number;
  payloads: string[];
  runs: [number, string][];
  rustRead: string[];
}

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'rust-vectors.json'), 'utf8')) as {
  rustWritten: Record<string, Vector>;
  ours: Record<string, Vector>;
};

function build(v: Vector): Buffer {
  const buf = Buffer.alloc(v.size);
  for (const [at, hex] of v.runs) Buffer.from(hex, 'hex').copy(buf, at);
  return buf;
}

/** What the Rust reader printed, as config and a set of "offset length hex" lines. */
function rustView(lines: string[]) {
  const [config, ...entries] = lines;
  return { config, entries: [...entries].sort() };
}

function ourView(buf: Buffer) {
  const r = new SnapshotFile(buf).recover()!;
  const c = r.configuration;
  return {
    config: `config ${c.entries} ${c.dataBytes} ${c.writeOffset}`,
    entries: r
      .valid()
      .map((s) => `entry ${s.offset} ${s.length} ${r.read(s)!.toString('hex')}`)
      .sort(),
  };
}

describe.each(Object.entries(vectors.rustWritten))('file written by the Rust writer: %s', (_name, v) => {
  test('we recover the configuration and entries the Rust reader sees', () => {
    expect(ourView(build(v))).toEqual(rustView(v.rustRead));
  });

  test('our writer, given the same commits, lays out the same head, ring and tail', () => {
    const rust = build(v);
    const [configLine] = v.rustRead;
    const [, entries, dataBytes] = (configLine as string).split(' ').map(Number);
    const ours = make(v.size / 4096, entries as number, dataBytes as number, v.payloads.map((p) => Buffer.from(p)));
    // The sequence page differs by design: Rust only ever uses slot 0.
    expect(ours.subarray(0, 0x1000).equals(rust.subarray(0, 0x1000))).toBe(true);
    expect(ours.subarray(0x2000).equals(rust.subarray(0x2000))).toBe(true);
    expect(ourView(ours).entries).toEqual(expect.arrayContaining(rustView(v.rustRead).entries));
  });
});

describe.each(Object.entries(vectors.ours))('file written by our writer: %s', (name, v) => {
  test('is byte for byte the file the Rust reader was given', () => {
    const [pages, e, d, payloads] = OURS[name] as [number, number, number, Buffer[]];
    expect(make(pages, e, d, payloads).equals(build(v))).toBe(true);
  });

  test('the Rust reader saw exactly the entries we see', () => {
    expect(rustView(v.rustRead)).toEqual(ourView(build(v)));
  });
});
