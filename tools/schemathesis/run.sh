#!/usr/bin/env bash
# Runs schemathesis (pinned in requirements.txt) against a real running system: `witness up`
# (anvil with the Cartesi contracts, the node and the rollup backend, the gateway) on random
# ports in a throw-away data directory, then every check (`--checks all`) in every phase
# (examples, coverage, fuzzing, stateful) against the gateway's /openapi.json, signed in as the
# registrar account `witness up` creates (POST /v1/auth/login, the bearer token it answers).
# Exits non-zero on any failure.
#
# Needs Python >= 3.10 with venv and pip (PYTHON chooses the interpreter), PyPI the first time
# (or whenever requirements.txt changes), the built `witness` and `witness-backend` (WITNESS_BIN,
# default target/debug/witness) and anvil (npm ci at the repository root, or WITNESS_NODE_MODULES).
# SCHEMATHESIS_MAX_EXAMPLES (default 25) bounds the cases per operation and phase,
# SCHEMATHESIS_SEED (default 20) makes a run reproducible; extra arguments go to
# `schemathesis run`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${WITNESS_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/witness}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
seed="${SCHEMATHESIS_SEED:-20}"

source "$repo/scripts/python-venv.sh"
python_venv "$here" schemathesis
if [[ ! -x "$bin" ]]; then
    echo "schemathesis: $bin not found; build it: cargo build -p witness-cli -p witness-backend" >&2
    exit 1
fi

if [[ -z "${WITNESS_NODE_MODULES:-}" ]] && [[ -d "$repo/node_modules" ]]; then
    export WITNESS_NODE_MODULES="$repo/node_modules"
fi

data="$(mktemp -d "${TMPDIR:-/tmp}/witness-schemathesis.XXXXXX")"
system_pid=""
stop() {
    if [[ -n "$system_pid" ]] && kill -0 "$system_pid" 2>/dev/null; then
        kill -TERM "$system_pid" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$system_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$system_pid" 2>/dev/null || true
        wait "$system_pid" 2>/dev/null || true
    fi
    rm -rf "$data"
}
trap stop EXIT

# A small fleet: registered devices give the stateful phase real ids to follow.
"$bin" up --fresh --random-ports --data-dir "$data/system" --devices 3 --history-days 1 \
    > "$data/up.log" 2>&1 &
system_pid=$!
for _ in $(seq 1 1200); do
    [[ -f "$data/system/system.json" ]] && break
    if ! kill -0 "$system_pid" 2>/dev/null; then
        echo "schemathesis: witness up stopped:" >&2
        cat "$data/up.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [[ ! -f "$data/system/system.json" ]]; then
    echo "schemathesis: witness up was not ready within 120 s:" >&2
    cat "$data/up.log" >&2
    exit 1
fi

# Where the gateway listens and the registrar's password, from what `witness up` wrote; the
# bearer token from the real sign-in.
read -r gateway token < <("$venv_python" - "$data/system/system.json" <<'EOF'
import json, sys, requests
info = json.load(open(sys.argv[1]))
url = info["gateway_url"].rstrip("/")
answer = requests.post(
    f"{url}/v1/auth/login",
    json={"username": info["registrar_user"], "password": info["demo_password"]},
    timeout=30,
)
answer.raise_for_status()
print(url, answer.json()["token"])
EOF
)

export WITNESS_SCHEMATHESIS_TOKEN="$token"
cd "$data"
"${venv_python%/python}/schemathesis" --config-file "$here/schemathesis.toml" run "$gateway/openapi.json" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" \
    --seed "$seed" \
    "$@"
