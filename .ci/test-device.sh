#!/usr/bin/env bash
# The device tests as a board runs them: the wheel built from this tree, installed into a fresh
# venv with the device extra only (plus ExecuTorch's runtime without its torch dependency, as
# README's board install does), then tests/firmware_py run from a copy of tests/ (and bench/,
# whose simulated board the governor tests drive), so that
# `firmware_py` is imported from the installed package and never from the checkout.
# Usage: .ci/test-device.sh [pytest args]   (make test-device; needs .venv for pip wheel)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=runs/device-tests
rm -rf "$OUT" build
mkdir -p "$OUT/dist" "$OUT/suite"
.venv/bin/python -m pip wheel --quiet --no-deps . -w "$OUT/dist"
wheel=$(ls "$OUT"/dist/specks-*.whl)
"${PYTHON:-python3}" -m venv "$OUT/venv"
"$OUT/venv/bin/python" -m pip install --quiet --upgrade pip
"$OUT/venv/bin/python" -m pip install --quiet "$wheel[device,dev]"
"$OUT/venv/bin/python" -m pip install --quiet --no-deps executorch==1.5.1
if "$OUT/venv/bin/python" -c 'import torch' 2>/dev/null; then
  echo "the device venv has torch; it must not" >&2
  exit 1
fi
# bench/governor_sim is the tests' simulated board (numpy only); the rest of bench/ comes along;
# the fault matrix reads the README's promises
cp -r tests bench pyproject.toml README.md "$OUT/suite/"
cd "$OUT/suite"
exec ../venv/bin/python -m pytest -q -p no:cacheprovider -m "not host" tests/firmware_py "$@"
