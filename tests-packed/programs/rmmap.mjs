// Map a file through an rmmapd started from the installed bin, write through
// the mapping and find the bytes in the server's file.
import fs from 'node:fs';
import path from 'node:path';
import { rmmap } from '@shmkit/rmmap';
import { check, startBin, stop, scratchDir } from './check.cjs';

async function main() {
  const root = path.join(scratchDir(), 'served');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'data.bin'), Buffer.alloc(8192, 1));
  const daemon = await startBin('rmmapd', ['--root', root, '--port', '0', '--no-journal'], { line: /listening on ([^\s]+):(\d+)/ });
  try {
    const [, host, port] = daemon.match;
    const m = await rmmap({ host, port: Number(port), path: 'data.bin' }, 0, 8192);
    check((await m.read(0, 4)).equals(Buffer.alloc(4, 1)), 'reads the file');
    await m.write(100, Buffer.from('hello'));
    await m.sync();
    await m.close();
    check(fs.readFileSync(path.join(root, 'data.bin')).subarray(100, 105).toString() === 'hello', 'the write reached the file');
  } finally {
    await stop(daemon);
  }
  console.log('rmmap: ok');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
