// Push a file to a receiver on this machine and compare what it stored.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pushFile, PushReceiver } from '@shmkit/push';
import { check, scratchDir } from './check.cjs';

async function main() {
  const dir = scratchDir();
  const inbox = path.join(dir, 'inbox');
  fs.mkdirSync(inbox);
  const source = path.join(dir, 'payload.bin');
  const data = crypto.randomBytes(300000);
  fs.writeFileSync(source, data);
  const receiver = await PushReceiver.listen({ dir: inbox, host: '127.0.0.1', port: 0 });
  try {
    const stored = new Promise((resolve) => receiver.once('stored', resolve));
    const result = await pushFile(source, [`127.0.0.1:${receiver.address.port}`]);
    check(result.ok, `push result ${JSON.stringify(result)}`);
    const e = await stored;
    check(fs.readFileSync(e.path).equals(data), 'the stored copy equals the source');
  } finally {
    await receiver.close();
  }
  console.log('push: ok');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
