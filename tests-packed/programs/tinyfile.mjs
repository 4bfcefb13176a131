// Compress and decompress through a tinyd started from the installed bin.
import crypto from 'node:crypto';
import path from 'node:path';
import { TinyFile } from '@shmkit/tinyfile';
import { check, startBin, stop, scratchDir } from './check.cjs';

async function main() {
  const socket = path.join(scratchDir(), 'tinyd.sock');
  const daemon = await startBin('tinyd', ['--socket', socket, '--workers', '1', '--n-sms', '4', '--sms-size', '128'], { line: /listening on/ });
  try {
    const tf = await TinyFile.connect({ socket });
    const input = Buffer.concat([crypto.randomBytes(8192), Buffer.alloc(65536, 'abcd')]);
    const block = await tf.compress(input);
    check(block.length < input.length, `compressed ${input.length} to ${block.length} bytes`);
    check((await tf.decompress(block)).equals(input), 'async round trip');
    check(tf.decompressSync(tf.compressSync(input)).equals(input), 'blocking round trip');
    await tf.close();
  } finally {
    await stop(daemon);
  }
  console.log('tinyfile: ok');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
