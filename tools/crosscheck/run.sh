#!/usr/bin/env bash
# Runs the independent Python cross-check of docs/PROTOCOL.md against docs/protocol-vectors.json.
# Needs Python >= 3.10 with venv and pip (set PYTHON to choose the interpreter), and PyPI access
# the first time (or whenever requirements.txt changes). Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../scripts/python-venv.sh"
python_venv "$here" crosscheck
exec "$venv_python" "$here/crosscheck.py" "${1:-$here/../../docs/protocol-vectors.json}"
