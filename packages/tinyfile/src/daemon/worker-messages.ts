export interface TaskMessage {
  type: 'task';
  clientId: number;
  /** The channel memfd; owned by the main thread, open while the task runs. */
  fd: number;
  length: number;
  slot: number;
}
export type ToWorker = TaskMessage | { type: 'release'; clientId: number } | { type: 'exit' };

export interface WorkerDone {
  type: 'done';
  clientId: number;
  slot: number;
  ok: boolean;
  /** Set when the worker could not even reach the slot. */
  error?: string;
}
