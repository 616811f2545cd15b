#!/usr/bin/env bash
# Instructions per attested reading of the backend's advance path (`State::advance`), on the
# native x86-64 build under callgrind and on the riscv64 build (the Cartesi machine's ISA)
# under qemu user mode. See crates/backend/examples/advance_count.rs.
#
# The counted process rebuilds a registered fleet, then advances pre-sealed inputs; the fleet
# costs the same at any input count, so the figure is the marginal cost between SMALL and
# LARGE inputs: (instructions(LARGE) - instructions(SMALL)) / (readings(LARGE) - readings(SMALL)).
#
# riscv64 counting: qemu logs each translated block's instructions (`-d in_asm`) and each
# execution of a block (`-d exec,nochain`; without nochain, chained blocks are not logged);
# the sum over executions of the block's size is the count. QEMU_SINGLESTEP=1 instead runs one
# instruction per block and counts executions (exact too, about 40x slower): the cross-check.
#
# Knobs (environment): SMALL=1 LARGE=3 (inputs), PER_ENVELOPE=16 (readings per envelope),
# ENVELOPES (cap per input; default full 64 KiB inputs), DEVICES=1000, QEMU_SINGLESTEP=1,
# NATIVE_SERIAL=1 (adds a native build with curve25519-dalek's serial backend, as on riscv64;
# its own target dir). Honours CARGO_TARGET_DIR. Needs valgrind, qemu-riscv64-static and the
# riscv64 cross binutils (scripts/setup.sh installs the last two; apt-get install valgrind).
# Run: scripts/count-instructions.sh (about 5 minutes with the defaults, builds excluded).
set -euo pipefail
cd "$(dirname "$0")/.."

small=${SMALL:-1} large=${LARGE:-3} per_envelope=${PER_ENVELOPE:-16} devices=${DEVICES:-1000}
rv=riscv64gc-unknown-linux-gnu
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
for tool in valgrind qemu-riscv64-static riscv64-linux-gnu-objdump; do
  command -v "$tool" >/dev/null || { echo "$tool not found (see the header of $0)" >&2; exit 1; }
done
example=(-p witness-backend --example advance_count --release)
seal_options=(--per-envelope "$per_envelope" --devices "$devices")
[[ -n ${ENVELOPES:-} ]] && seal_options+=(--envelopes "$ENVELOPES")

cargo build "${example[@]}"
cargo build "${example[@]}" --target "$rv"
native=$target_dir/release/examples/advance_count
riscv=$target_dir/$rv/release/examples/advance_count
builds=(native)
if [[ -n ${NATIVE_SERIAL:-} ]]; then
  RUSTFLAGS='--cfg curve25519_dalek_backend="serial"' \
    cargo build "${example[@]}" --target-dir "$target_dir/native-serial"
  builds+=(native-serial)
fi
builds+=(riscv64)
file "$riscv" | grep -q "RISC-V.*statically linked" || { echo "not a static RISC-V binary: $riscv" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in "$small" "$large"; do
  "$native" seal "$work/in$n.bin" --inputs "$n" "${seal_options[@]}" >/dev/null
done

# Sums guest instructions from `-d in_asm,exec,nochain`: an "IN:" block lists a translated
# block's instructions (the latest translation at a pc wins); "Trace ... [cs_base/pc/..]" is
# one execution of the block at pc.
tb_sum='
/^Trace / { split($0, f, "/"); if (!(f[2] in size)) missing++; n += size[f[2]]; next }
/^IN:/ { block = 1; pc = ""; next }
block && /^0x[0-9a-f]+:/ { if (pc == "") { pc = substr($1, 3, length($1) - 3); size[pc] = 0 } size[pc]++; next }
block && /^$/ { block = 0 }
END { if (missing) { print "untranslated pc in trace" > "/dev/stderr"; exit 1 } printf "%.0f\n", n }'

# count BUILD N: prints "instructions readings seconds" for advancing the N-input file.
count() {
  local build=$1 file=$work/in$2.bin out=$work/out start instructions
  start=$(date +%s.%N)
  case $build in
    native | native-serial)
      local binary=$native
      [[ $build == native-serial ]] && binary=$target_dir/native-serial/release/examples/advance_count
      valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$work/vg" \
        "$binary" advance "$file" >"$out"
      instructions=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$work/vg") ;;
    riscv64)
      if [[ -n ${QEMU_SINGLESTEP:-} ]]; then
        instructions=$(qemu-riscv64-static -singlestep -d exec,nochain -D /dev/fd/3 \
          "$riscv" advance "$file" 3>&1 >"$out" | grep -c '^Trace')
      else
        instructions=$(qemu-riscv64-static -d in_asm,exec,nochain -D /dev/fd/3 \
          "$riscv" advance "$file" 3>&1 >"$out" | awk "$tb_sum")
      fi ;;
  esac
  local readings
  readings=$(sed -n 's/.*readings attested \([0-9]*\).*/\1/p' "$out")
  [[ -n $instructions && -n $readings ]] || { echo "$build: no count" >&2; cat "$out" >&2; exit 1; }
  echo "$instructions $readings $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
}

printf '%-14s %6s %8s %14s %22s %8s\n' build inputs readings instructions "marginal instr/reading" "wall s"
for build in "${builds[@]}"; do
  result=$(count "$build" "$small")
  read -r i0 r0 t0 <<<"$result"
  printf '%-14s %6s %8s %14s %22s %8.1f\n' "$build" "$small" "$r0" "$i0" "" "$t0"
  result=$(count "$build" "$large")
  read -r i1 r1 t1 <<<"$result"
  marginal=$(awk -v i0="$i0" -v i1="$i1" -v r0="$r0" -v r1="$r1" 'BEGIN { printf "%d", (i1 - i0) / (r1 - r0) }')
  printf '%-14s %6s %8s %14s %22s %8.1f\n' "$build" "$large" "$r1" "$i1" "$marginal" "$t1"
done

backend=$(sed -n 's/.*curve25519_dalek_backend="\(.*\)"/\1/p' \
  "$(ls -t "$target_dir/$rv"/release/build/curve25519-dalek-*/output | head -1)")
vector=$(riscv64-linux-gnu-objdump -d "$riscv" | grep -cP '\tv[a-z0-9.]*\t' || true)
echo "riscv64: curve25519-dalek backend $backend; vector (RVV) instructions in the binary: $vector"
