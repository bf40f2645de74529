#!/usr/bin/env bash
# A command (default: a shell) inside the lane's arm64 root, mounted as the lane mounts it;
# for looking into what the lane found. Run `make test-arm64` once first to build the root.
#
#   QEMU_CPU=cortex-a72 .ci/arm64/enter.sh /opt/specks-lane/venv/bin/specks boards
set -euo pipefail
cd "$(dirname "$0")/../.."
source .ci/arm64/mounts.sh
ROOT=$ARM64_ROOT
[ -f "$ROOT/.specks-arm64-root" ] || { echo "no arm64 root in $ROOT: make test-arm64" >&2; exit 2; }
.ci/arm64/host.sh
mount_root "$ROOT"
guest "${@:-/bin/bash}"
