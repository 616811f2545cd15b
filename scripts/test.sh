#!/usr/bin/env bash
# Runs every test of The Witness on a fresh machine: installs what it needs, then checks
# formatting and lints, builds the protocol for a bare-metal target (no_std), runs the
# workspace tests (against SQLite and a throw-away PostgreSQL, the whole system end to end),
# the riscv64 backend under qemu, the independent Python cross-check of the protocol vectors,
# every fuzz target for a bounded time, schemathesis against the gateway's OpenAPI document on
# a running system, and the web dashboard (unit tests, then Chromium driving it against a
# running system).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }
# A fresh clone builds everything once: incremental caches would only take disk (1.7 GB).
export CARGO_INCREMENTAL=0

step "setup"
scripts/setup.sh

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "no_std build of witness-protocol (riscv64gc-unknown-none-elf)"
cargo build -p witness-protocol --no-default-features --target riscv64gc-unknown-none-elf

step "PostgreSQL for the gateway tests (required: they fail without it)"
pg_env=$(scripts/postgres.sh start)
eval "$pg_env"
trap 'scripts/postgres.sh stop' EXIT
export WITNESS_REQUIRE_POSTGRES=1

step "workspace tests"
cargo test --workspace

step "riscv64 backend under qemu"
scripts/riscv64-smoke.sh

step "independent protocol cross-check (Python)"
tools/crosscheck/run.sh

step "fuzz targets, 20 s each from the kept seeds (stable toolchain, libFuzzer)"
scripts/fuzz.sh 20

step "schemathesis: the gateway's OpenAPI document against a running system (all checks, stateful)"
# The system's binaries for this step and the browser's: the same packages, in one command, as
# the system tests built (witness_test_support::SYSTEM_PACKAGES), so a no-op here.
cargo build -p witness-cli -p witness-backend -p witness-adversary
tools/schemathesis/run.sh

step "web dashboard: type check, unit tests, build"
(cd web && npm run typecheck && npm test && npm run build)

step "web dashboard in Chromium: the built pages against unreachable services"
(cd web && node tests/e2e/run.mjs --static)

step "web dashboard in Chromium against a running system (screenshots in web/artifacts/)"
(cd web && WITNESS_BIN="$PWD/../target/debug/witness" node tests/e2e/run.mjs)
