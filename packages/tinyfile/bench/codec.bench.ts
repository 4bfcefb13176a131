// Which compressor should tinyd run? libsnappy (the default when it loads),
// tinyfile's own (js), the napi-rs `snappy` package (native) and snappyjs,
// in-process and through tinyd, on 1 MiB of text.
import * as snappyjs from 'snappyjs';

// The built package, as users run it (through tsx the sources carry helpers of their own).
import { compressBlock, TinyFile } from '@shmkit/tinyfile';
import { LibSnappy } from '@shmkit/tinyfile/codec';
import { mbps, quick, sampleText, startTinyd, timeAlternating, type Row } from './harness';

export async function run(): Promise<Row[]> {
  let native: { compressSync(b: Buffer): Buffer } | undefined;
  try {
    native = require('snappy') as { compressSync(b: Buffer): Buffer };
  } catch {
    native = undefined;
  }
  const rows: Row[] = [];
  const input = sampleText(1 << 20);
  const rounds = quick ? 10 : 60;
  const [sj, ours] = await timeAlternating(rounds, () => snappyjs.compress(input), () => compressBlock(input));
  rows.push({ scenario: 'codec', case: 'compress 1 MiB in-process: tinyfile js (same bytes as snappyjs)', tinyd: mbps(input.length, ours), baseline: `${mbps(input.length, sj)} snappyjs`, ratio: sj / ours, better: 'higher' });
  if (native === undefined) {
    rows.push({ scenario: 'codec', case: 'native snappy', tinyd: 'not installed', baseline: '-', ratio: 0, better: 'higher' });
  } else {
    const n = native;
    const [js, nat] = await timeAlternating(rounds, () => snappyjs.compress(input), () => n.compressSync(input));
    rows.push({ scenario: 'codec', case: 'compress 1 MiB in-process: native', tinyd: mbps(input.length, nat), baseline: `${mbps(input.length, js)} snappyjs`, ratio: js / nat, better: 'higher' });
  }
  let haveLib = true;
  try {
    LibSnappy.load().close();
  } catch {
    haveLib = false;
  }
  for (const codec of ['js', 'snappyjs', ...(native === undefined ? [] : ['native']), ...(haveLib ? ['libsnappy'] : [])]) {
    const d = await startTinyd(['--workers', '2', '--codec', codec]);
    try {
      const tf = await TinyFile.connect({ socket: d.socket });
      const [base, t] = await timeAlternating(rounds, () => snappyjs.compress(input), () => tf.compress(input));
      rows.push({ scenario: 'codec', case: `compress 1 MiB via tinyd --codec ${codec}`, tinyd: mbps(input.length, t), baseline: `${mbps(input.length, base)} snappyjs in-process`, ratio: base / t, better: 'higher' });
      await tf.close();
    } finally {
      await d.stop();
    }
  }
  return rows;
}
