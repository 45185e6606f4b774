#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtualenv with no compiler needed at install
# time, and run the whole suite against the installed package (not the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip wheel . --no-deps -w "$work/dist" -q
wheel=$(ls "$work"/dist/ccxtpro_fast-*.whl)
echo "built $(basename "$wheel")"
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
pip install -q "$wheel[test]"
cp -r tests "$work/tests"
cp pyproject.toml "$work/"   # the pytest settings (markers, deselected slow runs), not the package
cd "$work"
python - <<'PY'
import ccxtpro_fast, sys
assert "site-packages" in ccxtpro_fast.__file__, ccxtpro_fast.__file__
print("testing", ccxtpro_fast.__file__, ccxtpro_fast.build_info())
PY
pytest -q -p no:cacheprovider tests
