import zlib from 'node:zlib';

// zlib.crc32 exists since Node 20.15 / 22.2 (@types/node 20.11 does not know
// it); engines allows 20.4, so a table-driven fallback computes the same
// CRC-32 (IEEE 802.3, reflected 0xedb88320) there.
/** zlib's (native, ≈ 3.5 GB/s here), or undefined on Node < 20.15. */
export const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;

function fallback(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = (table[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of `data`, continuing from `value` (the CRC of the bytes before it). */
export const crc32: (data: Uint8Array, value?: number) => number = nativeCrc32 ?? fallback;

/** @internal exported so a test can check the fallback against zlib. */
export const crc32Fallback = fallback;
