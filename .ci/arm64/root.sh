#!/usr/bin/env bash
# Build the lane's arm64 Debian root with debootstrap, or reuse it when it is complete.
#
#   .ci/arm64/root.sh ROOT
#
# The root is Debian bookworm arm64 (minbase) with what a board user's install needs: python3,
# venv, pip, CA certificates, and g++ (the ExecuTorch runner is a small C++ shim compiled on
# first use). debootstrap runs the arm64 half of the install through qemu-aarch64 (binfmt_misc,
# registered by .ci/arm64/binfmt.sh). A stamp holding the suite and package list is written
# last: a root without it (an interrupted build) or with another list is rebuilt from scratch.
set -euo pipefail

ROOT=${1:?usage: root.sh ROOT}
SUITE=bookworm
PACKAGES=python3,python3-venv,python3-pip,ca-certificates,g++
STAMP=$ROOT/.specks-arm64-root
WANT="$SUITE arm64 minbase $PACKAGES"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "arm64 root: reusing $ROOT ($WANT)"
  exit 0
fi

# Never delete a root that still has something mounted in it (a bound /dev would go with it).
if grep -q " $(realpath -m "$ROOT")/" /proc/self/mountinfo; then
  echo "arm64 root: $ROOT has mounts inside; unmount them first (umount -R)" >&2
  exit 1
fi
rm -rf --one-file-system "$ROOT"
mkdir -p "$(dirname "$ROOT")"

# The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org.
mirror=$(grep -hs -m1 -E '^URIs: .*/debian/?$' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true)
[ -n "$mirror" ] || mirror=$(grep -hs -m1 -E '^deb .*/debian/? ' /etc/apt/sources.list | awk '{print $2}' || true)
mirror=${mirror:-http://deb.debian.org/debian}

echo "arm64 root: debootstrap $SUITE arm64 minbase from $mirror into $ROOT"
debootstrap --arch=arm64 --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$mirror"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb
echo "$WANT" > "$STAMP"
