#!/usr/bin/env bash
# Build the root file system of an arm64 vcgate box from Debian bookworm
# packages and the vcgate .deb.
#
#   firmware/image/make-rootfs.sh DEB [OUT_DIR]           the box's image (tree + archive to flash)
#   firmware/image/make-rootfs.sh --quick DEB [OUT_DIR]   a tree for testing the package, in minutes
#   firmware/image/make-rootfs.sh --base-only             only the cached Debian layer of the image
#
#   DEB      the arm64 vcgate package (cpack in the arm64 build directory)
#   OUT_DIR  default build-rootfs-arm64 in the source tree; gets rootfs/ (the
#            tree) and, for the image, vcgate-rootfs-arm64.tar.gz (what a
#            technician flashes)
#
# What the box gets: Debian bookworm minimal (debootstrap minbase) with the
# packages of firmware/image/rootfs-packages.txt (systemd, systemd-networkd
# with DHCP on wired ports, systemd-timesyncd, ssh, ...), the vcgate package
# with its Recommends installed and vcgated.service enabled, the hardware
# watchdog handed to systemd (system.conf.d), journald sized for flash,
# socket buffers for video (sysctl.d), and vcgate-keygen.service which makes
# the box's key pair on first boot. The files come from firmware/image/rootfs/.
#
# The image: debootstrap --foreign for arm64, then its second stage and dpkg
# run inside the tree through qemu-aarch64-static and binfmt_misc (mounted
# and enabled here if needed; needs root). Every Debian package is properly
# installed, maintainer scripts and all: 10-30 minutes under emulation the
# first time. Two layers are cached in ${VCGATE_CACHE:-~/.cache/vcgate}:
# rootfs-debian-arm64.tar (debootstrap, keyed by its package list) and
# rootfs-deps-arm64.tar (plus the package's Depends: and Recommends:, keyed
# by them), so a new vcgate build only pays for its own installation.
#
# --quick: the same packages (Debian's Essential and required ones, the box's,
# vcgate's Depends: and Recommends:) resolved and unpacked on the host with
# dpkg-deb by cross/make-sysroot.sh, with a dpkg database that says they are
# installed, and cached as rootfs-quick-arm64/. Their maintainer scripts do
# not run; what the vcgate package and the test need of them is done here
# (users and groups, shadow files, device nodes, ldconfig). Then vcgate is
# installed with the real dpkg under qemu, its maintainer scripts and all,
# and the box's settings are applied as for the image. For
# firmware/image/test-rootfs.sh and CI; never flash it (no archive is made).
#
# Environment: VCGATE_ROOTFS_MIRROR (default: the host's Debian mirror),
# VCGATE_ROOTFS_NO_TAR=1 (skip the archive), VCGATE_ROOTFS_EXTRA (more packages).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
base_only=0 quick=0
case "${1:-}" in
  --base-only) base_only=1; shift ;;
  --quick) quick=1; shift ;;
esac
if [ $base_only = 0 ]; then
  deb=${1:?usage: make-rootfs.sh [--quick] DEB [OUT_DIR] | make-rootfs.sh --base-only}
  deb=$(realpath "$deb")
fi
out=${2:-$here/build-rootfs-arm64}
cache=${VCGATE_CACHE:-$HOME/.cache/vcgate}
overlay=$here/firmware/image/rootfs
t0=$(date +%s)
say() { echo "make-rootfs: $* ($(( $(date +%s) - t0 )) s)"; }

[ "$(id -u)" -eq 0 ] || { echo "make-rootfs: needs root (debootstrap, chroot, device nodes)" >&2; exit 1; }
if [ $base_only = 0 ] && [ "$(dpkg-deb -f "$deb" Architecture)" != arm64 ]; then
  echo "make-rootfs: $deb is not an arm64 package" >&2; exit 1
fi
tools=(qemu-aarch64-static)
[ $quick = 1 ] || tools+=(debootstrap)
for tool in "${tools[@]}"; do
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

box_packages=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/firmware/image/rootfs-packages.txt" | grep -v '^$')
# What the package needs and recommends, as apt-get satisfy takes them, and
# as plain names (first alternative, no versions) for the quick tree.
if [ $base_only = 0 ]; then
  depends=$(dpkg-deb -f "$deb" Depends)
  recommends=$(dpkg-deb -f "$deb" Recommends)
  dep_names=$(printf '%s,%s' "$depends" "$recommends" | tr ',' '\n' \
              | sed -E 's/\|.*//; s/\(.*\)//; s/:[a-z0-9]+//; s/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd' ' -)
fi
root=${out:-}/rootfs

# Nothing may start services inside the tree; policy-rc.d says so to
# invoke-rc.d and deb-systemd-invoke.
forbid_services() {
  printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
  chmod 755 "$1/usr/sbin/policy-rc.d"
}

if [ $quick = 1 ]; then
  # --- quick tree: unpacked on the host ---------------------------------------
  quick_tree=$cache/rootfs-quick-arm64
  VCGATE_SYSROOT_LIST="$here/firmware/image/rootfs-packages.txt" \
  VCGATE_SYSROOT_EXTRA="?essential ?priority(required) ${VCGATE_ROOTFS_EXTRA:-} $dep_names" \
  VCGATE_SYSROOT_CHROOT=1 \
    "$here/cross/make-sysroot.sh" arm64 "$quick_tree"
  say "Debian packages unpacked ($quick_tree)"
  rm -rf "$root"
  mkdir -p "$out"
  cp -a "$quick_tree" "$root"
  rm -f "$root"/.vcgate-sysroot-*
  # What the maintainer scripts of the Essential packages would have done,
  # as far as dpkg, adduser and the daemon need it.
  for f in passwd group; do
    [ -e "$root/etc/$f" ] || cp "$root/usr/share/base-passwd/$f.master" "$root/etc/$f"
  done
  days=$(( $(date +%s) / 86400 ))
  [ -e "$root/etc/shadow" ] || awk -F: -v d="$days" '{ print $1 ":*:" d ":0:99999:7:::" }' "$root/etc/passwd" >"$root/etc/shadow"
  [ -e "$root/etc/gshadow" ] || awk -F: '{ print $1 ":*::" }' "$root/etc/group" >"$root/etc/gshadow"
  chgrp 42 "$root/etc/shadow" "$root/etc/gshadow"  # group shadow in base-passwd
  chmod 640 "$root/etc/shadow" "$root/etc/gshadow"
  [ -e "$root/etc/adduser.conf" ] || cp "$root/usr/share/adduser/adduser.conf" "$root/etc/adduser.conf"
  mkdir -p "$root"/{proc,sys,run,dev,tmp,var/tmp} "$root/var/lib/dpkg"/{updates,triggers,alternatives}
  chmod 1777 "$root/tmp" "$root/var/tmp"
  touch "$root/var/lib/dpkg"/{available,diversions,statoverride}
  for node in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
    IFS=: read -r name major minor <<<"$node"
    [ -e "$root/dev/$name" ] || mknod -m 666 "$root/dev/$name" c "$major" "$minor"
  done
  chroot "$root" /sbin/ldconfig
  # PAM's common-* files, as libpam-runtime's postinst makes them: adduser's chfn needs them.
  for f in "$root"/usr/share/pam/common-*; do
    case "$f" in *.md5sums) ;; *) [ -e "$root/etc/pam.d/${f##*/}" ] || cp "$f" "$root/etc/pam.d/" ;; esac
  done
  DEBIAN_FRONTEND=noninteractive chroot "$root" pam-auth-update --enable unix systemd --force
  forbid_services "$root"
else
# --- layer 1: Debian bookworm minbase and the box's system packages ----------
include=$(printf '%s\n' $box_packages ${VCGATE_ROOTFS_EXTRA:-} | sort -u | paste -sd, -)
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
# apt-get satisfy takes the Depends: and Recommends: fields as they are
# (versions, virtual packages), as `apt-get install ./vcgate.deb` on a box
# would; installing them here keeps the arm64 dpkg run for vcgate short.
deps_key=$( { echo "$debian_key"; echo "$depends"; echo "$recommends"; } | sha256sum | cut -c1-16)
deps_tar=$cache/rootfs-deps-arm64.tar
build_deps() {
  tar --numeric-owner -C "$1" -xf "$debian_tar" || return 1
  say "vcgate's dependencies under qemu"
  chroot "$1" apt-get update -qq >"$1.log" 2>&1 || return 1
  DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get satisfy -y -qq --no-install-recommends \
    "$depends" ${recommends:+"$recommends"} >>"$1.log" 2>&1 || return 1
  chroot "$1" apt-get clean
}
cached_layer "$deps_tar" "$deps_key" "dependencies" build_deps

rm -rf "$root"
mkdir -p "$root"
tar --numeric-owner -C "$root" -xf "$deps_tar"
forbid_services "$root"
fi

# --- vcgate ------------------------------------------------------------------
cp "$deb" "$root/tmp/vcgate.deb"
say "installing $(basename "$deb")"
if ! chroot "$root" dpkg -i /tmp/vcgate.deb; then
  # The quick tree has exactly what the package asks for: a failure is the
  # package's (a Depends: that Debian cannot satisfy, a maintainer script).
  [ $quick = 0 ] || { echo "make-rootfs: dpkg -i $(basename "$deb") failed in the quick tree" >&2; exit 1; }
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

if [ $quick = 1 ]; then
  say "quick tree: for tests only, not for flashing (no archive made)"
elif [ "${VCGATE_ROOTFS_NO_TAR:-0}" != 1 ]; then
  tar --numeric-owner -C "$root" -czf "$out/vcgate-rootfs-arm64.tar.gz" .
  say "archive: $out/vcgate-rootfs-arm64.tar.gz ($(du -h "$out/vcgate-rootfs-arm64.tar.gz" | cut -f1))"
fi
