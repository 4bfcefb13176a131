// The locks are IPCMutex and IPCSemaphore; Mutex and Semaphore stay exported
// as deprecated aliases of the very same classes, so older code, instanceof
// checks and static methods keep working.
import { IPCBuffer, IPCMutex, IPCSemaphore, Mutex, Semaphore } from '../src';

test('Mutex and Semaphore are the IPCMutex and IPCSemaphore classes', () => {
  expect(Mutex).toBe(IPCMutex);
  expect(Semaphore).toBe(IPCSemaphore);
});

test('a lock made under either name is an instance of both', () => {
  using buf = IPCBuffer.anonymous(8192);
  using m = IPCMutex.at(buf, 0);
  using s = Semaphore.at(buf, 4096, { initial: 2 });
  expect(m).toBeInstanceOf(Mutex);
  expect(s).toBeInstanceOf(IPCSemaphore);
  expect(m.tryLock()).toBe(true);
  m.unlock();
  expect(s.tryAcquire(2)).toBe(true);
  s.release(2);
});
