import { PushError } from './errors';

export interface Destination {
  host: string;
  port: number;
  /** As the user wrote it, for messages. */
  label: string;
}

/** Parses "HOST:PORT" or "[IPv6]:PORT". */
export function parseDestination(text: string): Destination {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (m === null || host === undefined || !(port >= 1 && port <= 65535)) {
    throw new PushError('ERR_RMMAP_PUSH_BAD_DESTINATION', `invalid destination ${JSON.stringify(text)}: expected HOST:PORT with a port from 1 to 65535 (e.g. 10.0.0.2:7879 or [::1]:7879)`);
  }
  return { host, port, label: text };
}
