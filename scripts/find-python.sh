#!/usr/bin/env bash
# Prints the path of a Python >= 3.12 (Django 6.1 needs it), or explains and fails.
# The plain `python3` on these machines is 3.11, and pyenv shims for 3.12/3.13 exist
# but refuse to run unless that version is selected, so every candidate is tried for real.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=("${PYTHON:-}" python3.13 python3.12 python3)
for root in "${PYENV_ROOT:-$HOME/.pyenv}" /usr/local /usr; do
  for v in "$root"/versions/3.13* "$root"/versions/3.12*; do
    [ -x "$v/bin/python3" ] && candidates+=("$v/bin/python3")
  done
done
candidates+=(/usr/bin/python3.13 /usr/bin/python3.12 /usr/local/bin/python3.13 /usr/local/bin/python3.12)
for c in "${candidates[@]}"; do
  [ -n "$c" ] || continue
  if ok "$c"; then
    command -v "$c" 2>/dev/null || echo "$c"
    exit 0
  fi
done
echo "error: Examhall needs Python 3.12 or newer (Django 6.1); none was found." >&2
echo "       Tried: ${candidates[*]}. Install python3.12 or set PYTHON=/path/to/python3.12." >&2
exit 1
