import type { SlotRequest } from './serve';

export interface TaskMessage {
  type: 'task';
  clientId: number;
  /** The channel memfd; owned by the main thread, open while the task runs. */
  fd: number;
  length: number;
  slot: number;
  /** The request words as the scheduler loaded them (see serve.ts SlotRequest). */
  req: SlotRequest;
}
export type ToWorker = TaskMessage | { type: 'release'; clientId: number } | { type: 'exit' };

export interface WorkerDone {
  type: 'done';
  clientId: number;
  slot: number;
  ok: boolean;
  /** Bytes the worker wrote (its own count). */
  outLen: number;
  /** Set when the worker could not even reach the slot. */
  error?: string;
}
