export { SpscQueue, type SpscCreateOptions, type SpscOpenOptions } from './spsc-queue';
export { MpmcQueue, type MpmcCreateOptions, type MpmcStats } from './mpmc-queue';
export { Mutex, type LockGuard } from './mutex';
export { Semaphore } from './semaphore';
export { Notifier, type WaitOptions, type SyncWaitOptions } from './notifier';
export { Doorbell } from './doorbell';
export { ShmStateError, ShmStateCorruptError, AbortError } from './errors';
