import zlib from 'node:zlib';

// zlib.crc32 exists since Node 20.15 / 22.2 (@types/node 20.11 does not know
// it); engines allows 20.4. The push offers crc32 for zlib's speed only, so
// it has no slow fallback: without zlib.crc32 the checksum is refused.
/** zlib's (native, ≈ 3.5 GB/s here), or undefined on Node < 20.15. */
export const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
