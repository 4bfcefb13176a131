import diagnostics from 'node:diagnostics_channel';
import { debuglog } from 'node:util';

/**
 * Recoveries from dead processes, for monitoring. Subscribe with
 * `diagnostics_channel.subscribe('shm-state:recovered', fn)`; messages are
 * `{ structure, what, deadPid }`. Also logged with NODE_DEBUG=shm-state.
 */
export const recovered = diagnostics.channel('shm-state:recovered');

export const debug = debuglog('shm-state');

export interface RecoveredMessage {
  structure: 'MpmcQueue' | 'Mutex' | 'Semaphore' | 'HashMap' | 'RegionDirectory';
  what: string;
  /** 0 when the dead process is not known (a HashMap slot names no owner). */
  deadPid: number;
}

export function reportRecovery(msg: RecoveredMessage): void {
  debug('%s: %s (dead pid %d)', msg.structure, msg.what, msg.deadPid);
  if (recovered.hasSubscribers) recovered.publish(msg);
}
