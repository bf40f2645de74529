#!/usr/bin/env bash
# The arm64 emulation lane (`make test-arm64`; issue 14): the board's install and commands run
# on real aarch64 wheels under qemu-user, pinned to each board's core, and are compared with
# the same commands on x86. Emulated timings mean nothing: the lane proves correctness.
#
# Setup here (bash); the checks, comparison and report in tests/arm64/lane.py (Python).
#   1. host packages and binfmt_misc (.ci/arm64/host.sh)
#   2. the arm64 Debian root, cached in $ARM64_ROOT (.ci/arm64/root.sh, mounts.sh)
#   3. /proc and /dev bound into the root, a fake sysfs (cpuinfo reads the CPU count there),
#      all unmounted on exit, failure included (.ci/arm64/mounts.sh)
#   4. the Specks wheel built on the host and a 20-frame sample clip, staged in the root
#   5. the device extra installed from the wheel, as a board user would, in a venv inside the
#      root and in an x86 venv (the reference)
#   6. tests/arm64/lane.py: self-tests and `specks run` per core, compared with x86
# Needs root (chroot, mount). Variables: LANE (default runs/arm64), ARM64_ROOT (default
# ~/.cache/specks/arm64-root), BIN (the host venv's bin),
# ARM64_CORES, ARM64_RUNTIMES (comma-separated), ARM64_JOBS (cores checked at once; default
# 1 below 4 host CPUs, 2 below 8, else 4: each emulated run keeps 3-4 threads busy).
set -euo pipefail
cd "$(dirname "$0")/../.."

LANE=${LANE:-runs/arm64}
BIN=${BIN:-.venv/bin}
source .ci/arm64/mounts.sh
ROOT=$ARM64_ROOT
GUEST=/opt/specks-lane  # the staged files, as the root sees them
STAGE=$ROOT$GUEST
EXECUTORCH=executorch==1.5.1
declare -A took=()
phase() { took[$1]=$(( SECONDS - $2 )); echo "arm64 lane: $1 took ${took[$1]} s"; }

t=$SECONDS; .ci/arm64/host.sh; phase host_tools $t
t=$SECONDS; .ci/arm64/root.sh "$ROOT"; phase root $t

# 3. mounts (and the root's lock), undone on any exit
mount_root "$ROOT"

# 4. the wheel (as a user would get it: board profiles, zoo key and bundles inside) and the
# clip (as `make run` makes it, 20 frames)
t=$SECONDS
rm -rf "$LANE/src" "$LANE/dist" "$STAGE"
# from the files a clone has (git's view: tracked plus untracked, not ignored): no stale build/
# output, and setuptools' package search (it follows symlinks) never meets the bound /proc
mkdir -p "$LANE/src"
git ls-files -z --cached --others --exclude-standard |
  tar --null --ignore-failed-read -T - -cf - | tar -x -C "$LANE/src"
"$BIN/python" -m pip wheel --quiet --no-deps "$LANE/src" -w "$LANE/dist"
wheel=$(ls "$LANE"/dist/specks-*.whl)
# PNG frames, not the mp4: OpenCV's FFmpeg decodes the mp4v clip differently on aarch64 and
# x86 (most pixels off by 1-3 levels), so the two runs would not see the same frames
[ -f "$LANE/clip/frames/000019.png" ] || { rm -rf "$LANE/clip"; "$BIN/specks" data synth \
  "$LANE/clip" --frames 20 --size 1920x1080 --seed 5 --max-size 32 --image-folder; }
mkdir -p "$STAGE/dist" "$STAGE/out"
cp "$wheel" "$STAGE/dist/"
cp tests/arm64/probe.py "$STAGE/"
cp -r "$LANE/clip" "$STAGE/clip"
phase stage $t

# 5. the device extra from the wheel, in the root and
# on x86; the ExecuTorch runtime without torch (--no-deps)
install_device() {  # install_device RUNNER VENV WHEEL; RUNNER: guest (the root) or env (x86)
  local run=$1 venv=$2 wheel=$3
  local pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check
             --progress-bar off --no-compile)  # byte-compiling everything, emulated, is slow
  $run python3 -m venv --clear "$venv"
  $run "${pip[@]}" "$wheel[device]"
  $run "${pip[@]}" --no-deps "$EXECUTORCH"
}
t=$SECONDS
install_device guest "$GUEST/venv" "$GUEST/dist/$(basename "$wheel")"
phase arm64_install $t
t=$SECONDS
install_device env "$LANE/x86-venv" "$wheel"
phase x86_install $t

# 6. the checks
t=$SECONDS
set +e
"$BIN/python" -m tests.arm64.lane --root "$ROOT" --guest-dir "$GUEST" \
  --x86-venv "$LANE/x86-venv" --out "$LANE/report.json" \
  ${ARM64_CORES:+--cores "$ARM64_CORES"} ${ARM64_RUNTIMES:+--runtimes "$ARM64_RUNTIMES"} \
  --jobs "${ARM64_JOBS:-$(( $(nproc) >= 4 ? ($(nproc) >= 8 ? 4 : 2) : 1 ))}" \
  --setup-seconds "$(for k in "${!took[@]}"; do printf '%s=%s,' "$k" "${took[$k]}"; done)"
rc=$?
set -e
phase checks $t
exit $rc
