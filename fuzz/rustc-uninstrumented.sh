#!/usr/bin/env bash
# RUSTC_WRAPPER of scripts/fuzz.sh: compiles the elliptic-curve and hash crates without the
# coverage instrumentation (SanitizerCoverage) that every other crate gets. Their code is
# constant-time arithmetic whose branches say nothing about our inputs, and its comparison
# tracing was the largest single cost of backend_advance (perf: about 30 % of its samples).
# Without it the same 895 inputs run in 2.55 s of CPU instead of 3.39 s (BENCHMARKS.md
# section 11), and no edge of our code is lost.
set -euo pipefail
rustc=$1
shift
crate=
prev=
for arg in "$@"; do
  [ "$prev" = --crate-name ] && crate=$arg
  prev=$arg
done
case "$crate" in
  curve25519_dalek | ed25519_dalek | x25519_dalek | fiat_crypto | sha2 | sha3 | keccak | \
    strobe_rs | chacha20 | chacha20poly1305 | poly1305 | cipher | hkdf | hmac | hpke | aead | \
    universal_hash | digest | crypto_common | block_buffer | subtle | ctutils | cmov)
    args=()
    for arg in "$@"; do
      case "$arg" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
      esac
    done
    exec "$rustc" "${args[@]}"
    ;;
  *) exec "$rustc" "$@" ;;
esac
