// Internal protocol details, exported for tests and hostile-client fixtures only.
export * from './layout';
export * from './handshake';
export { defaultSocketPath, prepareSocketDir } from './socket-path';
export { kUnsafeSubmit, type UnsafeRequest, type UnsafeResult } from '../client/unsafe';
export { SlotHeader, type RawDecodeWords } from './slot-header';
