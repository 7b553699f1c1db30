# Shared by scripts/demo and scripts/test: make .venv in the repo and install the package into it.
# Usage: source scripts/_venv.sh EXTRAS   (e.g. "" or "test,dev")
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    echo "==> creating $venv" >&2
    "$python" -m venv "$venv"
fi
spec="$repo"
[ -n "${1:-}" ] && spec="$repo[$1]"
echo "==> installing g4f-hailuo (editable) into .venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
