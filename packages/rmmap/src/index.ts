export { rmmap, mread, mwrite, msync, rmunmap, connectionCount, type RmmapLocation, type RmmapOptions } from './client/rmmap';
export { RemoteMapping, type MappingOptions, type ChangeEvent, type ReconnectEvent } from './client/mapping';
export { type ServerAddress, type ConnectionOptions } from './client/connection';
export { PageCache } from './client/page-cache';
export { RmmapServer, type ServerOptions } from './server/server';
export { FrameParser, type RawFrame, type FrameParserOptions } from './parser';
export { FrameType, WireError, PROTOCOL_VERSION, MAGIC, DEFAULT_MAX_FRAME, MAX_FRAME_LIMIT, type FrameTypeName, type WireErrorName } from './constants';
export { RmmapError, RmmapProtocolError, RmmapRemoteError, RmmapClosedError, RmmapUnavailableError, RmmapArgumentError } from './errors';
export {
  pushFile,
  PushReceiver,
  PushError,
  PushStatus,
  parseDestination,
  nameProblem,
  type PushOptions,
  type PushResult,
  type ReceiverResult,
  type ReceiverProgress,
  type ReceiverPhase,
  type ReceiverOptions,
  type Transfer,
  type StoredEvent,
  type FailedEvent,
  type PushStatusName,
  type Destination,
} from './push/index';
