#!/usr/bin/env bash
# Create (or reuse) the project-local Python virtualenv at target/pyenv and install the
# pinned packages from scripts/requirements.txt into it.
#
#     scripts/pyenv.sh          # target/pyenv: training, onnxruntime (scripts/requirements.txt)
#     scripts/pyenv.sh --zk     # target/pyenv-zk: EZKL baseline (scripts/requirements-zk.txt)
#
# The install is skipped when the venv's .requirements.sha256 holds the SHA-256 of the
# current requirements file. Progress goes to stderr; the last line of stdout is the path
# of the venv's python, so callers can do:
#
#     PY=$(scripts/pyenv.sh | tail -1)
#
# Environment: PYTHON selects the base interpreter (default: python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
    "") venv="$root/target/pyenv"; req="$root/scripts/requirements.txt" ;;
    --zk) venv="$root/target/pyenv-zk"; req="$root/scripts/requirements-zk.txt" ;;
    *) echo "usage: $0 [--zk]" >&2; exit 2 ;;
esac
marker="$venv/.requirements.sha256"
base_python="${PYTHON:-python3}"
py="$venv/bin/python"

log() { echo "pyenv: $*" >&2; }

want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$py" ]] && "$py" -c 'import sys' 2>/dev/null; then
    if [[ -f "$marker" && "$(cat "$marker")" == "$want" ]]; then
        log "up to date ($venv)"
        echo "$py"
        exit 0
    fi
else
    log "creating virtualenv at $venv with $("$base_python" --version 2>&1)"
    rm -rf "$venv"
    mkdir -p "$root/target"
    "$base_python" -m venv "$venv"
fi

log "installing pinned packages from ${req#"$root/"}"
rm -f "$marker"
"$py" -m pip install --disable-pip-version-check --no-input -q -r "$req" 1>&2
echo "$want" > "$marker"
log "done"
echo "$py"
