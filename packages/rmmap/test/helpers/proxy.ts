import net from 'node:net';

/**
 * A TCP proxy that can cut every connection it carries, at once or after a
 * random number of forwarded bytes, to exercise the client's reconnect path.
 */
export class CuttingProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  /** When set, each connection is cut after a random number of bytes in [1, n]. */
  cutWithin: number | undefined;
  cuts = 0;

  constructor(readonly targetPort: number, readonly random: () => number = Math.random) {
    this.#server = net.createServer((down) => this.#accept(down));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve((this.#server.address() as net.AddressInfo).port)));
  }

  #accept(down: net.Socket): void {
    const up = net.connect(this.targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [down, up];
    this.#pairs.add(pair);
    let budget = this.cutWithin === undefined ? Infinity : 1 + Math.floor(this.random() * this.cutWithin);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (budget <= chunk.length) {
          // Deliver part of the chunk, then cut mid-frame.
          to.write(chunk.subarray(0, Math.max(0, budget - 1)));
          this.#cut(pair);
          return;
        }
        budget -= chunk.length;
        to.write(chunk);
      });
    forward(down, up);
    forward(up, down);
    const end = () => this.#cut(pair, false);
    down.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  }

  #cut(pair: [net.Socket, net.Socket], count = true): void {
    if (!this.#pairs.delete(pair)) return;
    if (count) this.cuts++;
    pair[0].destroy();
    pair[1].destroy();
  }

  cutAll(): void {
    for (const p of [...this.#pairs]) this.#cut(p);
  }

  get connections(): number {
    return this.#pairs.size;
  }

  close(): Promise<void> {
    this.cutAll();
    return new Promise((r) => this.#server.close(() => r()));
  }
}
