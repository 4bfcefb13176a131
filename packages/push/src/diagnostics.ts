import diagnosticsChannel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

// Tracing hooks: subscribe with diagnostics_channel, or run with
// NODE_DEBUG=rmmap-push for timing lines.
export const debug = debuglog('rmmap-push');

export const pushChannels = {
  /** Sender side, once per receiver: a ReceiverResult plus `name`. */
  result: diagnosticsChannel.channel('rmmap:push:result'),
  /** Receiver side: a StoredEvent. */
  stored: diagnosticsChannel.channel('rmmap:push:stored'),
  /** Receiver side: a FailedEvent. */
  failed: diagnosticsChannel.channel('rmmap:push:failed'),
};
