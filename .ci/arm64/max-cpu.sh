#!/usr/bin/env bash
# The `max`-CPU question of issue 14 (tests/arm64/max_cpu.py): the same models under qemu CPU
# models and feature toggles, with and without XNNPACK, against x86. Not part of CI; run
# `make test-arm64` once first (it builds the root and the venvs).
#
#   .ci/arm64/max-cpu.sh [--specs 'max;max,sme=off'] [--resolvers AUTO]
#   QEMU=/path/to/qemu-aarch64 .ci/arm64/max-cpu.sh ...   # another (static) qemu build
set -euo pipefail
cd "$(dirname "$0")/../.."
LANE=${LANE:-runs/arm64}
BIN=${BIN:-.venv/bin}
source .ci/arm64/mounts.sh
ROOT=$ARM64_ROOT
GUEST=/opt/specks-lane
[ -x "$ROOT$GUEST/venv/bin/python" ] || { echo "no lane venv in $ROOT: make test-arm64" >&2; exit 2; }
.ci/arm64/host.sh
mount_root "$ROOT"
cp tests/arm64/kernels.py tests/arm64/probe.py tests/arm64/isa_check.c "$ROOT$GUEST/"
mkdir -p "$ROOT$GUEST/bundles"
cp -r models/zoo/bundles/specknet-nano models/zoo/bundles/csnet-prior "$ROOT$GUEST/bundles/"
guest gcc -O1 -Wall -march=armv8.6-a+i8mm+sve -o "$GUEST/isa_check" "$GUEST/isa_check.c"
extra=()
if [ -n "${QEMU:-}" ]; then
  cp "$QEMU" "$ROOT$GUEST/qemu-aarch64-alt"
  extra=(--qemu "$GUEST/qemu-aarch64-alt")
fi
"$BIN/python" -m tests.arm64.max_cpu --root "$ROOT" --guest-dir "$GUEST" \
  --x86-venv "${X86_VENV:-$LANE/x86-venv}" "${extra[@]}" "$@"
