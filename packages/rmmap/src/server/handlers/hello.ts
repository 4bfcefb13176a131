import { RmmapError } from '../../errors';
import type { RequestHandler } from './context';

/** HELLO after the handshake: refused, the connection stays. */
export const handleRepeatedHello: RequestHandler = () => {
  throw new RmmapError('ERR_RMMAP_HANDSHAKE', 'HELLO was already received on this connection (PROTOCOL.md §3)');
};
