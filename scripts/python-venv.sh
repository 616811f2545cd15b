# Sourced by the Python tools' run.sh (tools/crosscheck, tools/schemathesis): `python_venv DIR
# WHAT` makes DIR/.venv with DIR/requirements.txt installed (again only when that file changed)
# and sets `venv_python` to its interpreter. Needs Python >= 3.10 with venv and pip (PYTHON
# chooses the interpreter) and PyPI the first time.
python_venv() {
    local dir=$1 what=$2
    local python="${PYTHON:-python3}" venv="$1/.venv"
    local stamp="$venv/.requirements.sha256" want
    "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else sys.argv[1] + " needs Python >= 3.10")' "$what"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$python" -m venv "$venv"
    fi
    want="$("$venv/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$dir/requirements.txt")"
    if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$want" ]]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
        echo "$want" > "$stamp"
    fi
    venv_python="$venv/bin/python"
}
