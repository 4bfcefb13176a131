export { SnapshotFile, type RecoverOptions } from './snapshot-file';
export { Recovery } from './recovery';
export { Writer, type Transaction, type Committed } from './writer';
export { snapshotKey, sameSnapshot, type Snapshot, type Configuration, type RecoveredConfiguration, type RetainSet } from './snapshot';
export {
  MAGIC,
  PAGE_BYTES,
  ENTRY_BYTES,
  ENTRIES_PER_PAGE,
  SEQUENCE_OFFSET,
  MAX_ENTRIES,
  MAX_DATA_BYTES,
  MAX_WRITE_OFFSET,
  geometry,
  type Geometry,
} from './layout';
export { ShmSnapshotError, SnapshotCorruptError, SnapshotConfigError, SnapshotPayloadError } from './errors';
export { SNAPSHOT_CODES, type SnapshotCode } from './codes';
