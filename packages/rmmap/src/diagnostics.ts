import diagnosticsChannel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

// Tracing hooks: subscribe with diagnostics_channel, or run with
// NODE_DEBUG=rmmap for text lines.
export const debug = debuglog('rmmap');

export const channels = {
  clientConnected: diagnosticsChannel.channel('rmmap:client:connected'),
  clientDisconnected: diagnosticsChannel.channel('rmmap:client:disconnected'),
  clientReconnected: diagnosticsChannel.channel('rmmap:client:reconnected'),
  serverConnection: diagnosticsChannel.channel('rmmap:server:connection'),
  serverError: diagnosticsChannel.channel('rmmap:server:error'),
};
