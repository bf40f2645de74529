#!/usr/bin/env bash
# The Debian packages a suite needs besides Python: the real broker, sshd, browser, systemd's
# unit checker and a C++ compiler for `make test`; qemu, binfmt and debootstrap for
# `make test-arm64`. As root, installs the missing ones; otherwise prints the one command to
# run and exits 1, before any test starts.   Usage: .ci/system-deps.sh test|arm64
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
case "${1:-test}" in
  test)
    have mosquitto || need+=(mosquitto)
    have sshd || need+=(openssh-server)
    have ssh || need+=(openssh-client)
    have rsync || need+=(rsync)
    have chromium || need+=(chromium)
    have systemd-analyze || need+=(systemd)
    have g++ || need+=(g++)
    ;;
  arm64)
    have qemu-aarch64-static || need+=(qemu-user-static)
    have update-binfmts || need+=(binfmt-support)
    have debootstrap || need+=(debootstrap)
    ;;
  *) echo "usage: $0 test|arm64" >&2; exit 2 ;;
esac
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
