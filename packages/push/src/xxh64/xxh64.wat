;; The inner loop of XXH64 (https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md):
;; four independent accumulators, 32 bytes per stripe. The rest of the
;; algorithm (tail bytes, merging, avalanche) runs once per digest and lives
;; in xxh64.ts. Compiled to xxh64-wasm.ts by `pnpm run build:wasm`.
;;
;; Memory is the caller's: the accumulators at [0, 32), the bytes anywhere
;; after them. The caller reads files and sockets straight into this memory,
;; which is what makes the hash cheaper than zlib's crc32 end to end.
(module
  (import "env" "memory" (memory 1))
  (func (export "stripes") (param $p i32) (param $n i32)
    (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64) (local $end i32)
    (local.set $v1 (i64.load offset=0 (i32.const 0)))
    (local.set $v2 (i64.load offset=8 (i32.const 0)))
    (local.set $v3 (i64.load offset=16 (i32.const 0)))
    (local.set $v4 (i64.load offset=24 (i32.const 0)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 5))))
    (block $done
      (loop $stripe
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        ;; round(acc, lane) = rotl(acc + lane * P2, 31) * P1
        (local.set $v1 (i64.mul (i64.rotl (i64.add (local.get $v1) (i64.mul (i64.load offset=0 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
        (local.set $v2 (i64.mul (i64.rotl (i64.add (local.get $v2) (i64.mul (i64.load offset=8 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
        (local.set $v3 (i64.mul (i64.rotl (i64.add (local.get $v3) (i64.mul (i64.load offset=16 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
        (local.set $v4 (i64.mul (i64.rotl (i64.add (local.get $v4) (i64.mul (i64.load offset=24 (local.get $p)) (i64.const 0xC2B2AE3D27D4EB4F))) (i64.const 31)) (i64.const 0x9E3779B185EBCA87)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (br $stripe)))
    (i64.store offset=0 (i32.const 0) (local.get $v1))
    (i64.store offset=8 (i32.const 0) (local.get $v2))
    (i64.store offset=16 (i32.const 0) (local.get $v3))
    (i64.store offset=24 (i32.const 0) (local.get $v4))))
