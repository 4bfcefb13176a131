#!/bin/sh
# Builds the Rust shmfd `shm-fd` wrapper and `primes` example (HeroicKatora/shmfd
# at 5b87162, sources taken from a clone, not vendored here) into $OUT, for
# tests-integration/test/shm-fd-rust.test.ts. Offline: crates come from
# Debian's librust-{libc,memmap2,bytemuck}-dev; memfile-shim.rs stands in for
# the `memfile` crate.
#   SHMFD_REPO=/path/to/shmfd.git OUT=/tmp/rust-shm-fd sh build.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=${SHMFD_REPO:-}
if [ -z "$repo" ] || ! git -C "$repo" cat-file -e "5b87162^{commit}" 2>/dev/null; then
  echo "build.sh: set SHMFD_REPO to a clone of https://github.com/HeroicKatora/shmfd that has commit 5b87162" >&2
  exit 2
fi
out=${OUT:-/tmp/rust-shm-fd}
rev=5b87162
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/shm-fd/src" "$work/primes/src" "$work/memfile/src" "$work/.cargo"
for f in lib.rs listenfd.rs main.rs notifyfd.rs op.rs; do git -C "$repo" show "$rev:shm-fd/src/$f" > "$work/shm-fd/src/$f"; done
git -C "$repo" show "$rev:shm-fd/Cargo.toml" > "$work/shm-fd/Cargo.toml"
git -C "$repo" show "$rev:examples/primes/src/main.rs" > "$work/primes/src/main.rs"
git -C "$repo" show "$rev:examples/primes/Cargo.toml" | sed 's#path = "../../shm-fd"#path = "../shm-fd"#' > "$work/primes/Cargo.toml"
sed -i 's/^version = "0.2.1"$/version = "0.2.1"\npath = "..\/memfile"/' "$work/shm-fd/Cargo.toml"
cp "$here/memfile-shim.rs" "$work/memfile/src/lib.rs"
printf '[package]\nname = "memfile"\nversion = "0.2.1"\nedition = "2021"\n[dependencies]\nlibc = "0.2"\n' > "$work/memfile/Cargo.toml"
printf '[workspace]\nmembers = ["shm-fd", "primes", "memfile"]\nresolver = "2"\n' > "$work/Cargo.toml"
printf '[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "/usr/share/cargo/registry"\n' > "$work/.cargo/config.toml"
(cd "$work" && cargo build --offline --release -q -p shm-fd --features libc,memfile,std -p primes)
mkdir -p "$out"
cp "$work/target/release/shm-fd" "$work/target/release/primes" "$out/"
echo "built $out/shm-fd $out/primes"
