#!/usr/bin/env bash
# Runs the whole system on this machine: installs what it needs, builds the dashboard and the
# binaries, then starts `witness up` (anvil + contracts, node + backend, gateway, fleet).
# Arguments go to `witness up` (see `target/release/witness up --help`), e.g. --fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ -f web/package.json ]; then
  (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
fi
cargo build --release -p witness-cli -p witness-backend
exec target/release/witness up "$@"
