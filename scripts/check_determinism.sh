#!/usr/bin/env bash
# The integer path's outputs must not depend on the CPU features the compiler may use. This runs
# the golden-hash tests of crates/quant/tests/digits.rs (whole test split, batch 1 and 32) in a
# build for the default target and in one for this machine's CPU (`-C target-cpu=native`, e.g.
# AVX-512), in separate target directories; both must pass against the same committed hashes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
echo "default target features: $(rustc --print cfg | sed -n 's/target_feature="\(.*\)"/\1/p' | tr '\n' ' ')"
cargo test -q -p verity-quant --test digits
echo "native target features: $(rustc --print cfg -C target-cpu=native | sed -n 's/target_feature="\(.*\)"/\1/p' | tr '\n' ' ')"
CARGO_TARGET_DIR="$root/target/native" RUSTFLAGS="-C target-cpu=native" \
  cargo test -q -p verity-quant --test digits
echo "integer outputs identical under both builds (same golden hashes)"
