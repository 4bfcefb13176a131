// What a status query answers: the daemon's settings, segment use, each
// client's counters and the recent throughput.
import type { ClientConn } from './client-conn';

export interface ClientStatus {
  id: number;
  pid: number;
  priority: number;
  segments: number;
  inFlight: number;
  queued: number;
  chunks: number;
  failures: number;
  bytesIn: number;
  bytesOut: number;
  connectedMs: number;
}

export interface DaemonStatus {
  pid: number;
  socket: string;
  codec: string;
  workers: number;
  qos: boolean;
  uptimeMs: number;
  segments: { total: number; used: number; size: number; waitingClients: number };
  clients: ClientStatus[];
  totals: { clients: number; chunks: number; failures: number; bytesIn: number; bytesOut: number };
  /** Input bytes per second over the last few seconds. */
  throughput: number;
}

export function clientStatus(c: ClientConn, now: number): ClientStatus {
  return {
    id: c.id,
    pid: c.pid,
    priority: c.priority,
    segments: c.slots,
    inFlight: c.inFlightCount,
    queued: c.ready.length,
    chunks: c.chunks,
    failures: c.failures,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    connectedMs: now - c.connectedAt,
  };
}

/** Samples a byte counter once a second and gives its rate over the last few seconds. */
export class ThroughputMeter {
  readonly #samples: Array<[number, number]> = [];
  readonly #sampler: NodeJS.Timeout;
  readonly #bytes: () => number;

  constructor(bytes: () => number) {
    this.#bytes = bytes;
    this.#sampler = setInterval(() => {
      this.#samples.push([Date.now(), this.#bytes()]);
      if (this.#samples.length > 6) this.#samples.shift();
    }, 1000).unref();
  }

  /** Bytes per second since the oldest sample; 0 until one is 200 ms old. */
  rate(now: number): number {
    const first = this.#samples[0];
    return first === undefined || now - first[0] < 200 ? 0 : ((this.#bytes() - first[1]) * 1000) / (now - first[0]);
  }

  stop(): void {
    clearInterval(this.#sampler);
  }
}
