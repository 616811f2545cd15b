#!/usr/bin/env bash
# Installs everything The Witness needs on a fresh Debian machine with Rust, Node and Python:
# Debian packages, Rust targets and components, npm packages (anvil, contracts). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user-static file postgresql chromium)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

installed_targets=$(rustup target list --installed)
for target in riscv64gc-unknown-none-elf riscv64gc-unknown-linux-gnu; do
  grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

if [ ! -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -d web/node_modules ]; then
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
