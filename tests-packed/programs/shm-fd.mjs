// A memfd mapped twice: a write through one mapping is read through the other.
import { SharedFd } from '@shmkit/shm-fd';
import { check } from './check.cjs';

const shared = SharedFd.create({ name: 'packed-test', size: 1 << 16 });
const a = shared.map();
const b = shared.map();
a.buffer.writeUInt32LE(0xdeadbeef, 4096);
check(b.buffer.readUInt32LE(4096) === 0xdeadbeef, 'a write through one mapping is visible through the other');
check(shared.size === 1 << 16, `size ${shared.size}`);
a.close();
b.close();
shared.close();
console.log('shm-fd: ok');
