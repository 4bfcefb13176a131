// A POSIX shm Buffer opened twice under one name, updated under a named Mutex.
import { IPCBuffer, Mutex } from '@shmkit/ipcbuffer';
import { check } from './check.cjs';

async function main() {
  const name = `packed-test-${process.pid}`;
  const a = IPCBuffer(4096, `*${name}`);
  const b = IPCBuffer(4096, `*${name}`);
  const lock = Mutex.open(`/${name}.lock`);
  try {
    a.write('hello', 0);
    check(b.toString('utf8', 0, 5) === 'hello', 'the second view sees the first one\'s write');
    await lock.withLock(() => a.writeUInt32LE(b.readUInt32LE(8) + 1, 8));
    check(b.readUInt32LE(8) === 1, 'the counter was incremented under the lock');
  } finally {
    lock.close();
    a.close();
    b.close();
    IPCBuffer.unlink(`/${name}`);
    Mutex.unlink(`/${name}.lock`);
  }
  console.log('ipcbuffer: ok');
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
