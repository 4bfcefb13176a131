// The names these locks had before: they collided with shm-state's Mutex and
// Semaphore, which these classes wrap. Kept so existing code keeps working.
import { IPCMutex } from './mutex';
import { IPCSemaphore } from './semaphore';

/** @deprecated Use IPCMutex (the same class). */
export const Mutex = IPCMutex;
/** @deprecated Use IPCMutex (the same class). */
export type Mutex = IPCMutex;

/** @deprecated Use IPCSemaphore (the same class). */
export const Semaphore = IPCSemaphore;
/** @deprecated Use IPCSemaphore (the same class). */
export type Semaphore = IPCSemaphore;
