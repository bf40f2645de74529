#!/usr/bin/env bash
# Host side of the emulation lane: the Debian packages it needs and qemu-aarch64 registered
# with binfmt_misc, so the kernel runs arm64 ELF files through the emulator.
#
# Debian's qemu-user-static registers its interpreter with the F (fix-binary) flag: the kernel
# opens the emulator once, at registration, so a chroot needs no copy of it inside.
set -euo pipefail

need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi

BINFMT=/proc/sys/fs/binfmt_misc
[ -e "$BINFMT/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT"
update-binfmts --enable qemu-aarch64
if ! grep -q '^enabled' "$BINFMT/qemu-aarch64" || ! grep -q '^flags: .*F' "$BINFMT/qemu-aarch64"
then
  echo "arm64 lane: qemu-aarch64 is not registered with the F flag:" >&2
  cat "$BINFMT/qemu-aarch64" >&2
  exit 1
fi
