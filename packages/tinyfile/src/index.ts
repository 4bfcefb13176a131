export { TinyFile, type ConnectOptions, type FileOptions, type FileResult, type ClientStats } from './client/tinyfile';
export { Tinyd, type TinydOptions, type DaemonStatus, type ClientStatus } from './daemon/tinyd';
export { queryStatus } from './client/status';
export { defaultSocketPath } from './protocol/socket-path';
export { TinyFileError, CorruptInputError, DaemonError, TinyFileClosedError } from './errors';
export { compressBlock, decompressBlock, compressFramed, decompressFramed, uncompressedLength } from './codec/in-process';
export { maxCompressedLength, type CodecName } from './codec/codec';
export { TINYFILE_CODES, type TinyFileCode } from './codes';
