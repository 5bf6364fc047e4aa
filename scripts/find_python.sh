#!/usr/bin/env bash
# Print the absolute path of a Python interpreter >= 3.12 (Mesa >= 3.5 needs it).
#
# Candidates are tried in order and each is *run*, not just looked up: on these machines
# `python3` is 3.11 and the pyenv shims `python3.12` / `python3.13` on PATH exist but fail
# unless PYENV_VERSION is set (DESIGN.md section 8).
#
# Order: $PYTHON (if set; if it does not qualify this is an error, not a silent fallback),
# python3.13, python3.12, python3, python, then $(pyenv root)/versions/3.1[2-9]*/bin/python3.
set -uo pipefail

ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

emit() {
    # Print the real interpreter path (resolves pyenv shims and bare names).
    "$1" -c 'import sys; print(sys.executable)'
    exit 0
}

if [ -n "${PYTHON:-}" ]; then
    if ok "$PYTHON"; then
        emit "$PYTHON"
    fi
    echo "find_python.sh: PYTHON=$PYTHON is not a working Python >= 3.12." >&2
    exit 1
fi

for c in python3.13 python3.12 python3 python; do
    if command -v "$c" >/dev/null 2>&1 && ok "$c"; then
        emit "$c"
    fi
done

pyenv_root=""
if command -v pyenv >/dev/null 2>&1; then
    pyenv_root="$(pyenv root 2>/dev/null || true)"
fi
pyenv_root="${pyenv_root:-${PYENV_ROOT:-$HOME/.pyenv}}"
if [ -d "$pyenv_root/versions" ]; then
    for c in "$pyenv_root"/versions/3.1[2-9]*/bin/python3; do
        if [ -x "$c" ] && ok "$c"; then
            emit "$c"
        fi
    done
fi

cat >&2 <<'MSG'
find_python.sh: no Python >= 3.12 found.
Mesa >= 3.5 (which msc-abm needs) requires Python >= 3.12. Get one with any of:
  pyenv install 3.12          (then it is found under $(pyenv root)/versions/)
  uv python install 3.12      (then: PYTHON="$(uv python find 3.12)" make ...)
  your OS package, e.g. apt-get install python3.12 python3.12-venv
Select a specific interpreter with:  PYTHON=/path/to/python3.12 make ...
MSG
exit 1
