#!/usr/bin/env bash
# Runs the independent Python cross-check of docs/PROTOCOL.md against docs/protocol-vectors.json.
# Needs Python >= 3.10 with venv and pip (set PYTHON to choose the interpreter), and PyPI access
# the first time (or whenever requirements.txt changes). Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "crosscheck needs Python >= 3.10")'
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
want="$("$venv/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$here/requirements.txt")"
if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$stamp"
fi
exec "$venv/bin/python" "$here/crosscheck.py" "${1:-$here/../../docs/protocol-vectors.json}"
