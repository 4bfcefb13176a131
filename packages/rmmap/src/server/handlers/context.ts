import type { RawFrame } from '../../parser';
import type { ServerConnection } from '../connection';
import type { Section } from '../files';
import type { RmmapServer } from '../server';
import type { Session } from '../session';

/** What a request handler may use of the connection that received the request. */
export interface RequestContext {
  readonly server: RmmapServer;
  readonly conn: ServerConnection;
  /** The connection's session (the handshake is done). */
  readonly session: Session;
  /** The sections this connection holds, by mapping id. */
  readonly sections: Map<number, Section>;
  /** The section mapped under `id` on this connection, else ERR_RMMAP_UNKNOWN_MAPPING. */
  section(id: number): Section;
  send(frame: Buffer): void;
  /** Sends DATA: a snapshot of the section's bytes [start, end) taken now (§4.2). */
  sendData(requestId: number, s: Section, start: number, end: number): void;
}

/**
 * Serves one request frame. A thrown error is answered with an ERROR frame
 * for the request (its code if it is a wire error, else ERR_RMMAP_IO) and
 * the connection stays open.
 */
export type RequestHandler = (ctx: RequestContext, f: RawFrame) => void;
