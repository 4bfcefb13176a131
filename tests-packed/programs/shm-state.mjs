// An SPSC queue in a memfd: pushed through one mapping, popped through another.
import { SharedFd } from '@shmkit/shm-fd';
import { SpscQueue } from '@shmkit/shm-state';
import { check } from './check.cjs';

const shared = SharedFd.create({ size: 1 << 16 });
const producerMap = shared.map();
const consumerMap = shared.map();
const producer = SpscQueue.create(producerMap.buffer, { offset: 0, capacity: 4096 });
const consumer = SpscQueue.open(consumerMap.buffer, { offset: 0 });
for (let i = 0; i < 100; i++) check(producer.tryPush(Buffer.from(`message ${i}`)), `push ${i}`);
for (let i = 0; i < 100; i++) {
  const m = consumer.tryPop();
  check(m !== null && m.toString() === `message ${i}`, `pop ${i}: ${m}`);
}
check(consumer.tryPop() === null, 'the queue is empty');
producerMap.close();
consumerMap.close();
shared.close();
console.log('shm-state: ok');
