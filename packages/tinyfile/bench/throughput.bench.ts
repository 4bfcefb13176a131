// compress / decompress through tinyd (2 workers) against snappyjs called in
// this process on the same data, for 4 KiB, 1 MiB and 64 MiB, with 1 client
// and with 2 client processes at once (their combined rate against one
// in-process compressor).
import * as snappyjs from 'snappyjs';

import { TinyFile } from '../src';
import { mbps, runClients, sampleText, SIZES, startTinyd, timeAlternating, type Row } from './harness';

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const d = await startTinyd(['--workers', '2']);
  try {
    const tf = await TinyFile.connect({ socket: d.socket });
    for (const size of SIZES) {
      const input = sampleText(size.bytes);
      const block = Buffer.from(snappyjs.compress(input));
      for (const op of ['compress', 'decompress'] as const) {
        const [local, remote] = await timeAlternating(
          size.rounds,
          () => (op === 'compress' ? snappyjs.compress(input) : snappyjs.uncompress(block)),
          () => (op === 'compress' ? tf.compress(input) : tf.decompress(block)),
        );
        rows.push({ scenario: 'throughput', case: `${op} ${size.label}, 1 client`, tinyd: mbps(size.bytes, remote), baseline: `${mbps(size.bytes, local)} snappyjs in-process`, ratio: local / remote, better: 'higher' });
        const two = await runClients(2, [d.socket, op, String(size.bytes), String(size.rounds)]);
        // The baseline again right after, so both sides of the ratio see the same load.
        const [localAfter] = await timeAlternating(Math.max(1, size.rounds >> 1), () => (op === 'compress' ? snappyjs.compress(input) : snappyjs.uncompress(block)), () => undefined);
        const base = Math.min(local, localAfter);
        const total = two.results.reduce((a, r) => a + r['bytes']!, 0);
        rows.push({
          scenario: 'throughput',
          case: `${op} ${size.label}, 2 clients`,
          tinyd: `${mbps(total, two.seconds)} combined`,
          baseline: `${mbps(size.bytes, base)} one snappyjs`,
          ratio: total / two.seconds / (size.bytes / base),
          better: 'higher',
        });
      }
    }
    await tf.close();
  } finally {
    await d.stop();
  }
  return rows;
}
