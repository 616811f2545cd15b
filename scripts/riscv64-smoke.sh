#!/usr/bin/env bash
# Cross-builds the backend statically for riscv64 Linux (the Cartesi machine's architecture)
# and runs the backend's binary tests against it under qemu user-mode emulation.
set -euo pipefail
cd "$(dirname "$0")/.."
target=riscv64gc-unknown-linux-gnu
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
cargo build --release -p witness-backend --target "$target"
binary="target/$target/release/witness-backend"
file "$binary" | grep -q "RISC-V" || { echo "not a RISC-V binary: $binary" >&2; exit 1; }
WITNESS_BACKEND_BIN="$PWD/$binary" WITNESS_BACKEND_RUNNER=qemu-riscv64-static \
  cargo test -p witness-backend --test it binary::
