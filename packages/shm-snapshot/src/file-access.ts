import type { Words } from './u64-words';

/** @internal What readers and the writer need from a SnapshotFile. */
export interface FileAccess {
  readonly closed: boolean;
  /** The whole file's bytes; throws ERR_SHM_CLOSED once closed. */
  memory(): Buffer;
  words(): Words;
  /** Called by a Writer so only one exists per file. */
  claimWriter(): void;
}
