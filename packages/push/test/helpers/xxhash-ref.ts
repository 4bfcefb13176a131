// XXH64 from another implementation than rmmap's: xxhash-wasm, loaded
// through its CommonJS build (its types are declared ESM-only, so they
// cannot be imported into these CommonJS tests; this is the part used).
export interface XxhashRef {
  h64Raw(data: Uint8Array): bigint;
  create64(): { update(data: Uint8Array): unknown; digest(): bigint };
}

export function loadXxhashRef(): Promise<XxhashRef> {
  return (require('xxhash-wasm') as () => Promise<XxhashRef>)();
}
