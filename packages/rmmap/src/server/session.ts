import type { AppliedTable } from './applied';
import type { ServerConnection } from './connection';

/** Per-client state that outlives one TCP connection: which writes were applied (§6). */
export interface Session {
  id: string;
  /** `id` as bytes, for the journal. */
  idBytes: Buffer;
  /** request id → version the write produced, for writes the client may retry. */
  applied: AppliedTable;
  conn: ServerConnection | undefined;
  expiry: NodeJS.Timeout | undefined;
}
