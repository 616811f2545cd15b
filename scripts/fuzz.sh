#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/fuzz_targets/) with the stable toolchain and runs each for a
# bounded time with libFuzzer, from the seed corpus in fuzz/corpus/<target>/ (kept in the repo,
# built from the protocol vectors by fuzz/seeds.py). A crash fails the run and leaves its input
# in fuzz/artifacts/<target>/; turn it into a test before fixing it.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 20 s, every target
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 0 decode   # a fixed number of executions instead
#   FUZZ_JOBS=2 FUZZ_RUNS=10000000 scripts/fuzz.sh 0 backend_advance
#                      # that many processes sharing one corpus, FUZZ_RUNS/FUZZ_JOBS each
#                      # (FUZZ_WORK=DIR keeps their corpus and logs)
#
# No cargo-fuzz and no nightly: the instrumentation cargo-fuzz asks rustc for (SanitizerCoverage
# through LLVM pass arguments, `--cfg fuzzing`) is available on stable; only the address
# sanitizer, which this run goes without, would need nightly.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-20}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^witness-fuzz$'))
fi
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# The crypto crates go uninstrumented (fuzz/rustc-uninstrumented.sh says why).
export RUSTC_WRAPPER="$PWD/rustc-uninstrumented.sh"
# --target: the flags then apply to the targets only, not to build scripts and proc macros.
cargo build --release --locked --target "$triple" $(printf -- '--bin %s ' "${targets[@]}")
# FUZZ_WORK=DIR keeps the scratch corpus and the logs (a long run's figures) in DIR.
if [ -n "${FUZZ_WORK:-}" ]; then
  work=$(mkdir -p "$FUZZ_WORK" && cd "$FUZZ_WORK" && pwd)
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t" "corpus/$t"
  jobs=${FUZZ_JOBS:-1}
  if [ -n "${FUZZ_RUNS:-}" ]; then
    limit=(-runs="$((FUZZ_RUNS / jobs))") bound="$FUZZ_RUNS runs"
  else
    limit=(-max_total_time="$seconds") bound="$seconds s"
  fi
  echo "==> fuzz $t ($bound, $jobs process(es), $(ls "corpus/$t" | wc -l) seeds)"
  # New inputs go to the scratch corpus (first directory), which parallel processes share
  # (libFuzzer reloads it); the kept seeds are only read.
  pids=()
  for j in $(seq 1 "$jobs"); do
    "target/$triple/release/$t" "${limit[@]}" -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" "$work/$t" "corpus/$t" >"$work/$t.$j.log" 2>&1 &
    pids+=($!)
  done
  failed=0
  for j in $(seq 1 "$jobs"); do
    if ! wait "${pids[$((j - 1))]}"; then
      tail -40 "$work/$t.$j.log"
      failed=1
    fi
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$work/$t.$j.log" || true
    grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t.$j.log" | tail -1 || true
  done
  if [ "$failed" = 1 ]; then
    echo "fuzz target $t failed; its input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  echo "==> $t: corpus $(ls "$work/$t" | wc -l) new inputs"
done
