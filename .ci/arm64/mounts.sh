# Sourced by .ci/arm64/lane.sh and enter.sh: what a process in the arm64 root needs, mounted
# for the life of the calling shell and undone on any exit (failure and Ctrl-C included).
#
#   mount_root ROOT   /proc and /dev bound in, a fake sysfs, DNS and CA certificates; one
#                     shell at a time per root (a lock beside it), so mounts left by a
#                     killed run (SIGKILL skips the trap) are the only ones it can meet
#   guest CMD...      CMD in the root with a clean environment (QEMU_CPU passed on if set)
#
# Each mount is made private, so nothing mounted under the root propagates back to the host.
#
# ARM64_ROOT is where the root lives: outside the checkout (the user's cache, as CI systems
# keep a cache between runs), so a fresh clone reuses the root an earlier one built (about 10
# of the lane's minutes when built cold).

ARM64_ROOT=${ARM64_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/specks/arm64-root}
_mounted=()

unmount_root() {
  local i
  for (( i=${#_mounted[@]}-1; i>=0; i-- )); do
    umount "${_mounted[i]}" 2>/dev/null || umount -l "${_mounted[i]}" || \
      echo "arm64 root: could not unmount ${_mounted[i]}" >&2
  done
  _mounted=()
}

_mount_in() {  # _mount_in TARGET MOUNT-ARGS...
  local target=$1; shift
  if mountpoint -q "$target"; then umount -l "$target"; fi  # left by a killed run
  mount "$@" "$target"
  _mounted+=("$target")
  mount --make-private "$target"
}

mount_root() {
  ARM64_ROOT=$1
  exec {_lock}>"$ARM64_ROOT.lock"
  flock -n "$_lock" || { echo "arm64 root: $ARM64_ROOT is in use by another lane" >&2; exit 1; }
  trap unmount_root EXIT
  trap 'exit 130' INT TERM
  _mount_in "$ARM64_ROOT/proc" --bind /proc
  _mount_in "$ARM64_ROOT/dev" --bind /dev
  # cpuinfo (inside XNNPACK) counts CPUs from these two files; with the host's real /sys the
  # emulated process crashes, and without them XNNPACK does not start. The boards have 4 cores.
  _mount_in "$ARM64_ROOT/sys" -t tmpfs -o size=64k,mode=0755 specks-fake-sysfs
  mkdir -p "$ARM64_ROOT/sys/devices/system/cpu"
  echo 0-3 > "$ARM64_ROOT/sys/devices/system/cpu/possible"
  echo 0-3 > "$ARM64_ROOT/sys/devices/system/cpu/present"
  cp -L /etc/resolv.conf "$ARM64_ROOT/etc/resolv.conf"
  cp -L /etc/ssl/certs/ca-certificates.crt "$ARM64_ROOT/etc/ssl/certs/ca-certificates.crt"
}

guest() {
  local env=(PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8) v
  for v in QEMU_CPU http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -z "${!v:-}" ] || env+=("$v=${!v}")
  done
  chroot "$ARM64_ROOT" /usr/bin/env -i "${env[@]}" "$@"
}
