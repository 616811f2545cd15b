#!/usr/bin/env bash
# RUSTC_WRAPPER of scripts/fuzz.sh: compiles the elliptic-curve and hash crates without the
# coverage instrumentation (SanitizerCoverage) that every other crate gets. Their code is
# constant-time arithmetic whose branches say nothing about our inputs, and its comparison
# tracing took a third of backend_advance's time (perf, BENCHMARKS.md section 11): without it
# the fuzzer runs twice as many executions and loses no edge of our code.
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
