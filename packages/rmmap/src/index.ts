export { rmmap, mread, mwrite, msync, rmunmap, connectionCount, type RmmapLocation, type RmmapOptions } from './client/rmmap';
export { RemoteMapping, type MappingOptions, type ChangeEvent, type ReconnectEvent } from './client/mapping';
export { type ServerAddress, type ConnectionOptions } from './client/connection';
export { PageCache } from './client/page-cache';
export { RmmapServer, type ServerOptions } from './server/server';
export { DEFAULT_MAX_FRAME, MAX_FRAME_LIMIT, type WireErrorName } from './constants';
export { RmmapError, RmmapProtocolError, RmmapRemoteError, RmmapClosedError, RmmapUnavailableError, RmmapArgumentError } from './errors';
export { RMMAP_CODES, type RmmapCode } from './codes';
