#!/usr/bin/env bash
# Run the Python SDK's test suite (clients/python/tests) against a devnet started from
# $VERITY_BIN: installs the package into a virtual environment with pip, as a user would, then
# runs pytest from the repository root and passes its exit status through.
#
#   VERITY_BIN=target/debug/verity scripts/test-python-sdk.sh [pytest args...]
#
# The venv is ${VERITY_PY_VENV:-<repo>/target/python-sdk-venv}; it is created when missing and
# reused otherwise (the package is reinstalled every run so it tests the current source).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -z "${VERITY_BIN:-}" ]]; then
    echo "error: VERITY_BIN is not set; point it at a built verity binary, e.g." >&2
    echo "  VERITY_BIN=target/debug/verity scripts/test-python-sdk.sh" >&2
    exit 2
fi
case "$VERITY_BIN" in
    /*) ;;
    *) VERITY_BIN="$PWD/$VERITY_BIN" ;;
esac
if [[ ! -x "$VERITY_BIN" ]]; then
    echo "error: VERITY_BIN=$VERITY_BIN is not an executable file; build it with \`cargo build\`" >&2
    exit 2
fi
export VERITY_BIN

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    echo "error: $python not found; install Python 3.10 or newer" >&2
    exit 2
fi

venv="${VERITY_PY_VENV:-$repo/target/python-sdk-venv}"
if [[ ! -x "$venv/bin/python" ]]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

cd "$repo"
"$venv/bin/python" -m pip install -q --disable-pip-version-check ./clients/python pytest
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider clients/python/tests "$@"
