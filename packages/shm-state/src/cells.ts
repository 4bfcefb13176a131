import { checkMapped, mappingOf, type ClosedProbe } from './mapping-probe';
import { checkRegion, int32At, type Memory } from './memory-region';

/**
 * A 32-bit signed integer in shared memory. Every access is an Atomics
 * operation, so it is safe from any number of processes; there is no header,
 * so any 4-aligned word can be wrapped (the region directory records what
 * it is).
 */
export class Int32Cell {
  static readonly byteLength = 4;
  readonly #word: Int32Array;
  readonly #mapping: ClosedProbe | undefined;

  constructor(memory: Memory, offset = 0) {
    this.#word = int32At(memory, offset, 4, 'Int32Cell');
    this.#mapping = mappingOf(memory);
  }

  load(): number {
    return Atomics.load(this.#w, 0);
  }
  store(value: number): void {
    Atomics.store(this.#w, 0, value);
  }
  /** Adds and returns the previous value (wraps at 2^31). */
  add(delta: number): number {
    return Atomics.add(this.#w, 0, delta);
  }
  sub(delta: number): number {
    return Atomics.sub(this.#w, 0, delta);
  }
  exchange(value: number): number {
    return Atomics.exchange(this.#w, 0, value);
  }
  /** Stores `value` if the cell holds `expected`; returns what it held. */
  compareExchange(expected: number, value: number): number {
    return Atomics.compareExchange(this.#w, 0, expected, value);
  }

  /** The word, after checking the mapping under it is still open (a closed one reads zeros). */
  get #w(): Int32Array {
    checkMapped(this.#mapping, 'Int32Cell');
    return this.#word;
  }
}

/** A 64-bit signed integer in shared memory (bigint API, Atomics throughout). */
export class Int64Cell {
  static readonly byteLength = 8;
  readonly #word: BigInt64Array;
  readonly #mapping: ClosedProbe | undefined;

  constructor(memory: Memory, offset = 0) {
    checkRegion(memory, offset, 8, 8, 'Int64Cell');
    this.#word = new BigInt64Array(memory.buffer, memory.byteOffset + offset, 1);
    this.#mapping = mappingOf(memory);
  }

  load(): bigint {
    return Atomics.load(this.#w, 0);
  }
  store(value: bigint): void {
    Atomics.store(this.#w, 0, value);
  }
  add(delta: bigint): bigint {
    return Atomics.add(this.#w, 0, delta);
  }
  sub(delta: bigint): bigint {
    return Atomics.sub(this.#w, 0, delta);
  }
  exchange(value: bigint): bigint {
    return Atomics.exchange(this.#w, 0, value);
  }
  compareExchange(expected: bigint, value: bigint): bigint {
    return Atomics.compareExchange(this.#w, 0, expected, value);
  }

  /** The word, after checking the mapping under it is still open (a closed one reads zeros). */
  get #w(): BigInt64Array {
    checkMapped(this.#mapping, 'Int64Cell');
    return this.#word;
  }
}

/**
 * A 64-bit counter with a `number` API (exact up to 2^53). One atomic add per
 * increment, so increments from concurrent processes are never lost, and a
 * process killed mid-increment either counted or did not — never half.
 */
export class Counter64 {
  static readonly byteLength = 8;
  readonly #word: BigInt64Array;
  readonly #mapping: ClosedProbe | undefined;

  constructor(memory: Memory, offset = 0) {
    checkRegion(memory, offset, 8, 8, 'Counter64');
    this.#word = new BigInt64Array(memory.buffer, memory.byteOffset + offset, 1);
    this.#mapping = mappingOf(memory);
  }

  get value(): number {
    return Number(Atomics.load(this.#w, 0));
  }
  /** Adds `n` (default 1); returns the new value. */
  increment(n = 1): number {
    const d = BigInt(n);
    return Number(Atomics.add(this.#w, 0, d) + d);
  }
  /** Sets to 0; returns the value it had. */
  reset(): number {
    return Number(Atomics.exchange(this.#w, 0, 0n));
  }

  /** The word, after checking the mapping under it is still open (a closed one reads zeros). */
  get #w(): BigInt64Array {
    checkMapped(this.#mapping, 'Counter64');
    return this.#word;
  }
}

/** A 32-bit counter (wraps at 2^32, read as unsigned). Cheaper than Counter64: no bigint. */
export class Counter32 {
  static readonly byteLength = 4;
  readonly #word: Int32Array;
  readonly #mapping: ClosedProbe | undefined;

  constructor(memory: Memory, offset = 0) {
    this.#word = int32At(memory, offset, 4, 'Counter32');
    this.#mapping = mappingOf(memory);
  }

  get value(): number {
    return Atomics.load(this.#w, 0) >>> 0;
  }
  increment(n = 1): number {
    return (Atomics.add(this.#w, 0, n) + n) >>> 0;
  }
  reset(): number {
    return Atomics.exchange(this.#w, 0, 0) >>> 0;
  }

  /** The word, after checking the mapping under it is still open (a closed one reads zeros). */
  get #w(): Int32Array {
    checkMapped(this.#mapping, 'Counter32');
    return this.#word;
  }
}
