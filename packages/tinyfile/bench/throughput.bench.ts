// compress / decompress through tinyd (2 workers) against snappyjs called in
// this process on the same data, for 4 KiB, 1 MiB and 64 MiB, with 1 client
// and with 2 client processes at once (their combined rate against one
// in-process compressor).
//
// The shared machines this runs on change speed from one second to the next
// (the in-process baseline alone was seen at 100 and at 150 MB/s a few
// seconds apart), so every figure is a ratio of neighbours: 1 client
// alternates call by call with the baseline; 2 clients alternate round by
// round with it, and the row gives the median of the per-pair ratios.
// Two-client compress rows are also given against tinyfile's own compressor
// in-process (compressBlock, the codec tinyd runs): that ratio is the
// daemon's scaling alone, with the faster codec on both sides.
// BENCH_SIZES="1 MiB" runs only the sizes named (comma-separated labels).
import * as snappyjs from 'snappyjs';

// The built package, as users run it (through tsx the sources carry helpers of their own).
import { compressBlock, TinyFile } from '@shmkit/tinyfile';
import { ClientGroup, mbps, median, sampleText, SIZES, startTinyd, timeAlternating, type Row } from './harness';

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  // The js codec: these rows compare with JavaScript baselines (native.bench.ts runs the default codec against native snappy).
  const d = await startTinyd(['--workers', '2', '--codec', 'js']);
  try {
    const tf = await TinyFile.connect({ socket: d.socket });
    const only = process.env['BENCH_SIZES']?.split(',').map((x) => x.trim());
    for (const size of SIZES.filter((z) => only === undefined || only.includes(z.label))) {
      const input = sampleText(size.bytes);
      const block = Buffer.from(snappyjs.compress(input));
      for (const op of ['compress', 'decompress'] as const) {
        const local = () => (op === 'compress' ? snappyjs.compress(input) : snappyjs.uncompress(block));
        const [localOne, remote] = await timeAlternating(Math.max(5, size.rounds * 2), local, () => (op === 'compress' ? tf.compress(input) : tf.decompress(block)));
        rows.push({ scenario: 'throughput', case: `${op} ${size.label}, 1 client`, tinyd: mbps(size.bytes, remote), baseline: `${mbps(size.bytes, localOne)} snappyjs in-process`, ratio: localOne / remote, better: 'higher' });

        const group = await ClientGroup.start(2, [d.socket, op, String(size.bytes), String(size.rounds)]);
        const pairs: Array<{ base: number; own: number; combined: number }> = [];
        const own = () => compressBlock(input);
        try {
          for (let k = 0; k < size.pairs; k++) {
            const [base, ownTime] = await timeAlternating(Math.max(2, Math.ceil(size.rounds / 2)), local, op === 'compress' ? own : () => undefined);
            const two = await group.round();
            pairs.push({ base: size.bytes / base!, own: size.bytes / ownTime!, combined: two.results.reduce((a, r) => a + r.bytes, 0) / two.seconds });
          }
        } finally {
          await group.stop();
        }
        rows.push({
          scenario: 'throughput',
          case: `${op} ${size.label}, 2 clients`,
          tinyd: `${(median(pairs.map((p) => p.combined)) / 1e6).toFixed(1)} MB/s combined`,
          baseline: `${(median(pairs.map((p) => p.base)) / 1e6).toFixed(1)} MB/s one snappyjs`,
          ratio: median(pairs.map((p) => p.combined / p.base)),
          better: 'higher',
        });
        if (op === 'compress') {
          rows.push({
            scenario: 'throughput',
            case: `compress ${size.label}, 2 clients, vs tinyfile's compressor in-process`,
            tinyd: `${(median(pairs.map((p) => p.combined)) / 1e6).toFixed(1)} MB/s combined`,
            baseline: `${(median(pairs.map((p) => p.own)) / 1e6).toFixed(1)} MB/s one compressBlock()`,
            ratio: median(pairs.map((p) => p.combined / p.own)),
            better: 'higher',
          });
        }
      }
    }
    await tf.close();
  } finally {
    await d.stop();
  }
  return rows;
}
