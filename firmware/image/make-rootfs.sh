#!/usr/bin/env bash
# Build the root file system of an arm64 vcgate box from Debian bookworm
# packages and the vcgate .deb, as a directory and a tar archive to flash.
#
#   firmware/image/make-rootfs.sh DEB [OUT_DIR]
#   firmware/image/make-rootfs.sh --base-only     only the cached Debian layer
#
#   DEB      the arm64 vcgate package (cpack in the arm64 build directory)
#   OUT_DIR  default build-rootfs-arm64 in the source tree; gets rootfs/ (the
#            tree) and vcgate-rootfs-arm64.tar.gz (what a technician flashes)
#
# What the box gets: Debian bookworm minimal (debootstrap minbase) with
# systemd, systemd-networkd (DHCP on wired ports), systemd-timesyncd, ssh,
# the vcgate package installed and vcgated.service enabled, the hardware
# watchdog handed to systemd (system.conf.d), journald sized for flash,
# socket buffers for video (sysctl.d), and vcgate-keygen.service which makes
# the box's key pair on first boot. The files come from firmware/image/rootfs/.
#
# How: debootstrap --foreign for arm64, then its second stage and dpkg run
# inside the tree through qemu-aarch64-static and binfmt_misc (mounted and
# enabled here if needed; needs root). Two layers are cached in
# ${VCGATE_CACHE:-~/.cache/vcgate}: rootfs-debian-arm64.tar (debootstrap,
# keyed by its package list) and rootfs-deps-arm64.tar (plus the package's
# Depends:, keyed by that field), so a new vcgate build only pays for its own
# installation.
# Environment: VCGATE_ROOTFS_MIRROR (default: the host's Debian mirror),
# VCGATE_ROOTFS_NO_TAR=1 (skip the archive), VCGATE_ROOTFS_EXTRA (more packages).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
base_only=0
if [ "${1:-}" = --base-only ]; then base_only=1; shift; fi
if [ $base_only = 0 ]; then
  deb=${1:?usage: make-rootfs.sh DEB [OUT_DIR] | make-rootfs.sh --base-only}
  deb=$(realpath "$deb")
fi
out=${2:-$here/build-rootfs-arm64}
cache=${VCGATE_CACHE:-$HOME/.cache/vcgate}
overlay=$here/firmware/image/rootfs
t0=$(date +%s)
say() { echo "make-rootfs: $* ($(( $(date +%s) - t0 )) s)"; }

[ "$(id -u)" -eq 0 ] || { echo "make-rootfs: needs root (debootstrap, chroot)" >&2; exit 1; }
if [ $base_only = 0 ] && [ "$(dpkg-deb -f "$deb" Architecture)" != arm64 ]; then
  echo "make-rootfs: $deb is not an arm64 package" >&2; exit 1
fi
for tool in debootstrap qemu-aarch64-static; do
  command -v "$tool" >/dev/null || {
    echo "make-rootfs: $tool missing (apt-get install debootstrap qemu-user-static binfmt-support)" >&2; exit 1; }
done

# --- arm64 binaries must run inside the tree: binfmt_misc with qemu ----------
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi
if ! grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null; then
  echo "make-rootfs: cannot register qemu-aarch64 with binfmt_misc here; arm64 programs cannot run in a chroot" >&2
  exit 3
fi

mirror=${VCGATE_ROOTFS_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(grep -rhoE '^(URIs:[[:space:]]*|deb[[:space:]]+)https?://[^[:space:]]*debian/?' \
             /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | grep -v security | head -1 | grep -oE 'https?://[^[:space:]]+' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
mkdir -p "$cache"

# Runs "$@" WORKDIR (a function building a tree there; it must return
# non-zero on failure: set -e does not apply inside it) unless $tar is
# current for $key; leaves the tree in $tar.
cached_layer() {
  local tar=$1 key=$2 name=$3; shift 3
  if [ -f "$tar" ] && [ "$(cat "$tar.key" 2>/dev/null)" = "$key" ]; then
    say "$name: cached ($tar)"; return
  fi
  local work
  work=$(mktemp -d "$cache/rootfs-work.XXXXXX")
  "$@" "$work" || { tail -30 "$work.log" >&2; rm -rf "$work"; exit 1; }
  tar --numeric-owner -C "$work" -cf "$tar.new" .
  mv "$tar.new" "$tar"
  echo "$key" >"$tar.key"
  rm -rf "$work" "$work.log"
  say "$name: built"
}

# --- layer 1: Debian bookworm minbase and the box's system packages ----------
include=$(printf '%s\n' systemd systemd-sysv systemd-timesyncd dbus udev iproute2 iputils-ping \
            openssh-server ca-certificates less procps kmod file ${VCGATE_ROOTFS_EXTRA:-} | sort -u | paste -sd, -)
debian_key=$( { echo "$mirror"; echo "$include"; } | sha256sum | cut -c1-16)
debian_tar=$cache/rootfs-debian-arm64.tar
build_debian() {
  say "debootstrap bookworm arm64 minbase from $mirror"
  debootstrap --arch=arm64 --variant=minbase --foreign --include="$include" bookworm "$1" "$mirror" >"$1.log" 2>&1 || return 1
  say "debootstrap second stage under qemu"
  chroot "$1" /debootstrap/debootstrap --second-stage >>"$1.log" 2>&1 || return 1
  chroot "$1" apt-get clean
}
cached_layer "$debian_tar" "$debian_key" "Debian base" build_debian
[ $base_only = 0 ] || exit 0

# --- layer 2: vcgate's dependencies --------------------------------------------
# apt-get satisfy takes the Depends: field as it is (versions, virtual
# packages); installing them here keeps the arm64 dpkg run for vcgate short.
depends=$(dpkg-deb -f "$deb" Depends)
deps_key=$( { echo "$debian_key"; echo "$depends"; } | sha256sum | cut -c1-16)
deps_tar=$cache/rootfs-deps-arm64.tar
build_deps() {
  tar --numeric-owner -C "$1" -xf "$debian_tar" || return 1
  say "vcgate's dependencies under qemu"
  chroot "$1" apt-get update -qq >"$1.log" 2>&1 || return 1
  DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get satisfy -y -qq --no-install-recommends "$depends" >>"$1.log" 2>&1 || return 1
  chroot "$1" apt-get clean
}
cached_layer "$deps_tar" "$deps_key" "dependencies" build_deps

root=$out/rootfs
rm -rf "$root"
mkdir -p "$root"
tar --numeric-owner -C "$root" -xf "$deps_tar"

# Nothing may start services inside the image build.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# --- vcgate ------------------------------------------------------------------
cp "$deb" "$root/tmp/vcgate.deb"
say "installing $(basename "$deb")"
if ! chroot "$root" dpkg -i /tmp/vcgate.deb; then
  # dependencies that the cached base lacks: fetch them into the image
  chroot "$root" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get -f install -y -qq --no-install-recommends
fi
rm -f "$root/tmp/vcgate.deb"

# --- the box's system settings --------------------------------------------------
cp -a "$overlay"/. "$root"/
mkdir -p "$root/var/log/journal"
chroot "$root" systemctl enable vcgated.service vcgate-keygen.service systemd-timesyncd.service \
  systemd-networkd.service >/dev/null 2>&1
chroot "$root" systemctl is-enabled vcgated.service >/dev/null
echo vcgate-box >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvcgate-box\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# the root partition of a flashed box; the board's image recipe may override it
printf '# <file system>\t<mount point>\t<type>\t<options>\t<dump>\t<pass>\nLABEL=rootfs\t/\text4\tdefaults,noatime\t0\t1\n' \
  >"$root/etc/fstab"
# machine-id is made on first boot, so every box gets its own
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/etc/ssh/ssh_host_"*
# ssh host keys are made on first boot as well
cat >"$root/etc/systemd/system/ssh-hostkeys.service" <<'EOF'
[Unit]
Description=Generate SSH host keys on first boot
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key
Before=ssh.service

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
EOF
chroot "$root" systemctl enable ssh-hostkeys.service >/dev/null 2>&1
rm -f "$root/usr/sbin/policy-rc.d"
chroot "$root" apt-get clean
say "rootfs ready: $root ($(du -sh "$root" | cut -f1))"

if [ "${VCGATE_ROOTFS_NO_TAR:-0}" != 1 ]; then
  tar --numeric-owner -C "$root" -czf "$out/vcgate-rootfs-arm64.tar.gz" .
  say "archive: $out/vcgate-rootfs-arm64.tar.gz ($(du -h "$out/vcgate-rootfs-arm64.tar.gz" | cut -f1))"
fi
