// tinyd (2 workers, its default codec) against what a Node user installs
// instead: the native `snappy` package (napi-rs) called in the client's own
// process, sync and async, on the same data in the same run.
//
// Every row is a set of pairs, tinyd and the baseline alternating (which
// goes first alternates too), each side a batch of calls; a row gives the
// median of the per-pair ratios and their range. Every output of a batch is
// checked after the batch, outside the timed region (count, length and
// CRC-32C of what it decodes to, through tinyfile's JavaScript decoder).
//
//   BENCH_PAIRS   pairs per row (default 7; BENCH_QUICK=1 makes it 3 and the batches short)
//   BENCH_CODEC   tinyd's --codec (default: tinyd's own default, auto)
//
// Run it with `node -r tsx/cjs bench/run.ts native` (after `pnpm build`).
import snappy from 'snappy';

// The built package, as users run it (through tsx the sources carry helpers of their own).
import { maxCompressedLength, queryStatus, TinyFile } from '@shmkit/tinyfile';
import { outputChecker } from './fixtures/output-check';
import { ClientGroup, median, quick, sampleText, startTinyd, type Row } from './harness';

const PAIRS = Number(process.env['BENCH_PAIRS'] ?? (quick ? 3 : 7));
if (!Number.isInteger(PAIRS) || PAIRS < 1) throw new Error(`BENCH_PAIRS must be a positive integer, got ${process.env['BENCH_PAIRS']}`);

/**
 * Input sizes, and calls per batch: about 0.2 s of tinyd work (the two-client
 * rows use the 1 MiB count per round). tinyd idles while the baseline's batch
 * runs, and its first ~20 calls after that run slower while the scheduler
 * spreads its threads again (see the README's Limits): in batches of 30
 * calls that warm-up weighed more than the stream.
 */
const SIZES = [
  { label: '1 MiB', bytes: 1 << 20, rounds: quick ? 8 : 100 },
  { label: '8 MiB', bytes: 8 << 20, rounds: quick ? 2 : 16 },
];

interface Sample {
  seconds: number;
}

type Batch = () => Promise<Uint8Array[]>;

/** `rounds` calls of `call` (told its index) one after another; their outputs, for checking afterwards. */
function batch(rounds: number, call: (i: number) => Uint8Array | Promise<Uint8Array>): Batch {
  return async () => {
    const outs: Uint8Array[] = [];
    for (let i = 0; i < rounds; i++) outs.push(await call(i));
    return outs;
  };
}

async function timed(b: Batch, check: (outs: Uint8Array[]) => void): Promise<Sample> {
  const t0 = process.hrtime.bigint();
  const outs = await b();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  check(outs);
  return { seconds };
}

/** A first sample of each side (discarded), then PAIRS pairs of samples, alternating which side goes first. */
async function alternate<T>(ours: () => Promise<T>, base: () => Promise<T>): Promise<Array<{ ours: T; base: T }>> {
  await ours();
  await base();
  const out: Array<{ ours: T; base: T }> = [];
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2 === 0) {
      const o = await ours();
      out.push({ ours: o, base: await base() });
    } else {
      const b = await base();
      out.push({ ours: await ours(), base: b });
    }
  }
  return out;
}

/** PAIRS pairs of (tinyd, baseline) batches in this process. */
function pairs(ours: Batch, base: Batch, check: (outs: Uint8Array[]) => void): Promise<Array<{ ours: Sample; base: Sample }>> {
  return alternate(
    () => timed(ours, check),
    () => timed(base, check),
  );
}

/** PAIRS pairs of rounds of two client groups (each started with its arguments), each round reduced by `measure`. */
async function groupPairs(
  count: number,
  oursArgs: string[],
  baseArgs: string[],
  measure: (r: Awaited<ReturnType<ClientGroup['round']>>) => number,
): Promise<Array<{ ours: number; base: number }>> {
  const ours = await ClientGroup.start(count, oursArgs);
  try {
    const base = await ClientGroup.start(count, baseArgs);
    try {
      return await alternate(
        async () => measure(await ours.round()),
        async () => measure(await base.round()),
      );
    } finally {
      await base.stop();
    }
  } finally {
    await ours.stop();
  }
}

/** Throws unless every client of a round checked all `rounds` outputs. */
function allVerified(r: Awaited<ReturnType<ClientGroup['round']>>, rounds: number): void {
  for (const x of r.results) if (x.verified !== rounds) throw new Error(`a bench client verified ${x.verified} of ${rounds} outputs`);
}

/** Checks a batch: `rounds` outputs, each (decoded, for blocks) the input's length and CRC-32C (see fixtures/output-check.js). */
function checker(input: Buffer, rounds: number, outputs: 'blocks' | 'plain'): (outs: Uint8Array[]) => void {
  const check = outputChecker(input, outputs === 'blocks');
  return (outs) => {
    if (outs.length !== rounds) throw new Error(`a batch returned ${outs.length} outputs for ${rounds} calls`);
    check(outs);
  };
}

/** `check`, then clears `targets`: a batch that reuses them must write every one again. */
function thenCleared(check: (outs: Uint8Array[]) => void, targets: Buffer[]): (outs: Uint8Array[]) => void {
  return (outs) => {
    check(outs);
    for (const t of targets) t.fill(0);
  };
}

function mbs(bytes: number, seconds: number): string {
  return `${(bytes / 1e6 / seconds).toFixed(0)} MB/s`;
}

/** A row from pairs: median MB/s of each side, median ratio and its range. */
function throughputRow(label: string, baseLabel: string, bytesPerBatch: number, ps: Array<{ ours: Sample; base: Sample }>): Row {
  const ratios = ps.map((p) => p.base.seconds / p.ours.seconds);
  return {
    scenario: 'native',
    case: label,
    tinyd: mbs(bytesPerBatch, median(ps.map((p) => p.ours.seconds))),
    baseline: `${mbs(bytesPerBatch, median(ps.map((p) => p.base.seconds)))} ${baseLabel}`,
    ratio: median(ratios),
    range: [Math.min(...ratios), Math.max(...ratios)],
    better: 'higher',
  };
}

/**
 * The client's own CPU per MiB compressed: one client process against one
 * process compressing in-process, each alone in its process (so neither is
 * charged for collecting the other's garbage), rounds alternating.
 */
async function clientCpu(socket: string): Promise<Row[]> {
  const rows: Row[] = [];
  // Rounds of 30 calls of 1 MiB and 6 of 8 MiB: these rows measure CPU, which
  // tinyd's warm-up after an idle spell does not change.
  for (const { label, bytes, rounds } of SIZES.map((s) => ({ ...s, rounds: quick ? s.rounds : s.bytes === 1 << 20 ? 30 : 6 }))) {
    for (const [op, call] of [
      ['compress', 'compress'],
      ['compress-sync', 'compressSync'],
      ['compress-into', 'compressInto (targets reused)'],
      ['compress-into-sync', 'compressIntoSync (targets reused)'],
    ] as const) {
      const ps = await groupPairs(1, [socket, op, String(bytes), String(rounds)], ['-', 'native-compress', String(bytes), String(rounds)], (r) => {
        allVerified(r, rounds);
        return (r.results[0]!.cpuSeconds * 1000 * 1048576) / r.results[0]!.bytes;
      });
      const ratios = ps.map((p) => p.ours / p.base);
      rows.push({
        scenario: 'native',
        case: `client CPU, ${call} ${label}`,
        tinyd: `${median(ps.map((p) => p.ours)).toFixed(2)} ms CPU/MiB`,
        baseline: `${median(ps.map((p) => p.base)).toFixed(2)} ms CPU/MiB compressSync in-process`,
        ratio: median(ratios),
        range: [Math.min(...ratios), Math.max(...ratios)],
        better: 'lower',
      });
    }
  }
  return rows;
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const codecArg = process.env['BENCH_CODEC'];
  const d = await startTinyd(['--workers', '2', ...(codecArg === undefined ? [] : ['--codec', codecArg])]);
  try {
    const codec = (await queryStatus(d.socket)).codec;
    const tf = await TinyFile.connect({ socket: d.socket });
    try {
      for (const { label, bytes, rounds } of SIZES) {
        const input = sampleText(bytes);
        const block = snappy.compressSync(input);
        const perBatch = bytes * rounds;
        const blocks = checker(input, rounds, 'blocks');
        const plain = checker(input, rounds, 'plain');

        const c = await pairs(batch(rounds, () => tf.compress(input)), batch(rounds, () => snappy.compressSync(input)), blocks);
        rows.push(throughputRow(`compress ${label}, 1 client (tinyd ${codec})`, 'snappy compressSync in-process', perBatch, c));
        const ca = await pairs(batch(rounds, () => tf.compress(input)), batch(rounds, () => snappy.compress(input)), blocks);
        rows.push(throughputRow(`compress ${label}, 1 client`, 'snappy await compress() in-process', perBatch, ca));
        const cs = await pairs(batch(rounds, () => tf.compressSync(input)), batch(rounds, () => snappy.compressSync(input)), blocks);
        rows.push(throughputRow(`compressSync ${label}, 1 client`, 'snappy compressSync in-process', perBatch, cs));
        // The -Into rows: one target per call of a batch, reused by every batch
        // (a ring of output buffers), so the batch's outputs stay checkable afterwards.
        const compressTargets = Array.from({ length: rounds }, () => Buffer.alloc(maxCompressedLength(bytes)));
        const blocksCleared = thenCleared(blocks, compressTargets);
        const ci = await pairs(batch(rounds, async (i) => compressTargets[i]!.subarray(0, await tf.compressInto(input, compressTargets[i]!))), batch(rounds, () => snappy.compressSync(input)), blocksCleared);
        rows.push(throughputRow(`compressInto ${label} (targets reused), 1 client`, 'snappy compressSync in-process', perBatch, ci));
        const cis = await pairs(batch(rounds, (i) => compressTargets[i]!.subarray(0, tf.compressIntoSync(input, compressTargets[i]!))), batch(rounds, () => snappy.compressSync(input)), blocksCleared);
        rows.push(throughputRow(`compressIntoSync ${label} (targets reused), 1 client`, 'snappy compressSync in-process', perBatch, cis));
        const u = await pairs(batch(rounds, () => tf.decompress(block)), batch(rounds, () => snappy.uncompressSync(block) as Buffer), plain);
        rows.push(throughputRow(`decompress ${label}, 1 client`, 'snappy uncompressSync in-process', perBatch, u));
        const ua = await pairs(batch(rounds, () => tf.decompress(block)), batch(rounds, async () => (await snappy.uncompress(block)) as Buffer), plain);
        rows.push(throughputRow(`decompress ${label}, 1 client`, 'snappy await uncompress() in-process', perBatch, ua));
        const us = await pairs(batch(rounds, () => tf.decompressSync(block)), batch(rounds, () => snappy.uncompressSync(block) as Buffer), plain);
        rows.push(throughputRow(`decompressSync ${label}, 1 client`, 'snappy uncompressSync in-process', perBatch, us));
        const targets = Array.from({ length: rounds }, () => Buffer.alloc(bytes));
        const into = (i: number) => tf.decompressInto(block, targets[i]!).then(() => targets[i]!);
        const plainCleared = thenCleared(plain, targets);
        const ui = await pairs(batch(rounds, into), batch(rounds, async () => (await snappy.uncompress(block)) as Buffer), plainCleared);
        rows.push(throughputRow(`decompressInto ${label} (targets reused), 1 client`, 'snappy await uncompress() in-process', perBatch, ui));
        const uis = await pairs(batch(rounds, (i) => (tf.decompressIntoSync(block, targets[i]!), targets[i]!)), batch(rounds, () => snappy.uncompressSync(block) as Buffer), plainCleared);
        rows.push(throughputRow(`decompressIntoSync ${label} (targets reused), 1 client`, 'snappy uncompressSync in-process', perBatch, uis));
      }
    } finally {
      await tf.close();
    }
    rows.push(...(await clientCpu(d.socket)));
    rows.push(...(await twoClients(d.socket)));
  } finally {
    await d.stop();
  }
  return rows;
}

/** Two tinyd client processes at once against two processes compressing in-process, round by round. */
async function twoClients(socket: string): Promise<Row[]> {
  const rows: Row[] = [];
  const { bytes, rounds } = SIZES[0]!;
  for (const [op, call, base] of [
    ['compress', 'compress', 'compress'],
    ['decompress', 'decompress', 'decompress'],
    ['compress-into', 'compressInto (targets reused)', 'compress'],
    ['decompress-into', 'decompressInto (targets reused)', 'decompress'],
  ] as const) {
    const ps = await groupPairs(2, [socket, op, String(bytes), String(rounds)], ['-', `native-${base}`, String(bytes), String(rounds)], (r) => {
      allVerified(r, rounds);
      return r.results.reduce((a, x) => a + x.bytes, 0) / r.seconds;
    });
    const ratios = ps.map((p) => p.ours / p.base);
    rows.push({
      scenario: 'native',
      case: `${call} 1 MiB, 2 clients together`,
      tinyd: `${(median(ps.map((p) => p.ours)) / 1e6).toFixed(0)} MB/s combined`,
      baseline: `${(median(ps.map((p) => p.base)) / 1e6).toFixed(0)} MB/s, 2 processes ${base === 'compress' ? 'compressSync' : 'uncompressSync'} in-process`,
      ratio: median(ratios),
      range: [Math.min(...ratios), Math.max(...ratios)],
      better: 'higher',
    });
  }
  return rows;
}
