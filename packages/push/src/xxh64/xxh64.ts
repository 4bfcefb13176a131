// XXH64 (seed 0), the hash `xxhsum -H1` prints: the stripe loop runs in
// WebAssembly (xxh64.wat), the once-per-digest rest here in BigInt.
//
// Why not zlib.crc32: it hashes a Buffer wherever it lives, but at 3.6 GB/s
// it was a quarter of a push receiver's CPU. XXH64 in WebAssembly runs at
// several times that; WebAssembly cannot see other memory, so the hasher
// offers a window of its own memory that callers read the file or the
// socket into (`window` + `hashWindow`), and the bytes are hashed where
// they landed. `update()` copies, for bytes that are elsewhere.
import { XXH64_WASM } from './xxh64-wasm';

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const M64 = (1n << 64n) - 1n;
const STRIPE = 32;
/** Accumulators at [0, 32); a stripe's leftover bytes end right where the window starts. */
const WINDOW_AT = 64;
const PAGE = 65536;

/** The part of the WebAssembly API used here (@types/node 20 does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Instance: new (module: object, imports: object) => { exports: { stripes(p: number, n: number): void } };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let compiled: object | undefined;

const mul = (a: bigint, b: bigint): bigint => (a * b) & M64;
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M64;
const round = (acc: bigint, lane: bigint): bigint => mul(rotl((acc + mul(lane, P2)) & M64, 31n), P1);
const merge = (acc: bigint, v: bigint): bigint => ((mul(acc ^ round(0n, v), P1) + P4) & M64);

export class Xxh64 {
  /** Bytes written here, then `hashWindow(n)`, are hashed without a copy. */
  readonly window: Uint8Array;
  readonly #stripes: (p: number, n: number) => void;
  readonly #mem: Uint8Array;
  readonly #view: DataView;
  /** Bytes of an incomplete stripe, kept at [WINDOW_AT - pending, WINDOW_AT). */
  #pending = 0;
  #total = 0;

  /** `capacity`: the window's size in bytes. */
  constructor(capacity = 1024 * 1024) {
    if (!Number.isInteger(capacity) || capacity < STRIPE) throw new RangeError(`xxh64 window must be at least ${STRIPE} bytes, got ${capacity}`);
    compiled ??= new WA.Module(XXH64_WASM);
    const memory = new WA.Memory({ initial: Math.ceil((WINDOW_AT + capacity) / PAGE) });
    this.#stripes = new WA.Instance(compiled, { env: { memory } }).exports.stripes;
    this.#mem = new Uint8Array(memory.buffer);
    this.#view = new DataView(memory.buffer);
    this.window = this.#mem.subarray(WINDOW_AT, WINDOW_AT + capacity);
    this.#view.setBigUint64(0, (P1 + P2) & M64, true);
    this.#view.setBigUint64(8, P2, true);
    this.#view.setBigUint64(16, 0n, true);
    this.#view.setBigUint64(24, (-P1) & M64, true);
  }

  /** Hashes window[0, n); the window is free for the next bytes on return. */
  hashWindow(n: number): void {
    if (!(n >= 0 && n <= this.window.length)) throw new RangeError(`hashWindow(${n}) is outside the ${this.window.length}-byte window`);
    const start = WINDOW_AT - this.#pending;
    const len = this.#pending + n;
    const whole = Math.floor(len / STRIPE);
    if (whole > 0) this.#stripes(start, whole);
    const rest = len - whole * STRIPE;
    // Overlapping moves are fine: copyWithin is a memmove.
    this.#mem.copyWithin(WINDOW_AT - rest, start + whole * STRIPE, start + len);
    this.#pending = rest;
    this.#total += n;
  }

  update(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(this.window.length, bytes.length - at);
      this.window.set(bytes.subarray(at, at + n));
      this.hashWindow(n);
      at += n;
    }
  }

  /** The 8-byte digest, big-endian: the byte order xxhsum prints. The state is left as it was. */
  digest(): Buffer {
    const v = this.#view;
    let h: bigint;
    if (this.#total >= STRIPE) {
      const v1 = v.getBigUint64(0, true);
      const v2 = v.getBigUint64(8, true);
      const v3 = v.getBigUint64(16, true);
      const v4 = v.getBigUint64(24, true);
      h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M64;
      h = merge(merge(merge(merge(h, v1), v2), v3), v4);
    } else {
      h = P5;
    }
    h = (h + BigInt(this.#total)) & M64;
    let p = WINDOW_AT - this.#pending;
    for (; p + 8 <= WINDOW_AT; p += 8) {
      h ^= round(0n, v.getBigUint64(p, true));
      h = (mul(rotl(h, 27n), P1) + P4) & M64;
    }
    if (p + 4 <= WINDOW_AT) {
      h ^= mul(BigInt(v.getUint32(p, true)), P1);
      h = (mul(rotl(h, 23n), P2) + P3) & M64;
      p += 4;
    }
    for (; p < WINDOW_AT; p++) {
      h ^= mul(BigInt(this.#mem[p]!), P5);
      h = mul(rotl(h, 11n), P1);
    }
    h ^= h >> 33n;
    h = mul(h, P2);
    h ^= h >> 29n;
    h = mul(h, P3);
    h ^= h >> 32n;
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(h);
    return out;
  }
}
