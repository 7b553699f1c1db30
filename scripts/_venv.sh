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
# Editable, and cheap at start-up: setup.cfg's package_dir (=.) makes setuptools write a plain
# path .pth, not its __editable___*_finder module (~18 ms at every interpreter start). Not
# `--config-settings editable_mode=compat`, which gives the same .pth but is deprecated in
# setuptools and fails the install once removed. tests/test_install.py checks the start-up imports.
echo "==> installing g4f-hailuo (editable) into .venv" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
