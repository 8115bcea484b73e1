#!/usr/bin/env bash
# Build a cross sysroot from Debian bookworm packages of the target architecture.
#
#   cross/make-sysroot.sh [arm64|armhf] [SYSROOT_DIR]
#
# Default SYSROOT_DIR: ${VCGATE_CACHE:-$HOME/.cache/vcgate}/sysroot-ARCH.
#
# How: a private apt state (own sources, own package lists, an empty dpkg
# status, APT::Architecture=ARCH) resolves the dependency closure of
# cross/sysroot-packages.txt and downloads it; each .deb is unpacked with
# dpkg-deb into a merged-/usr tree; absolute symlinks are made relative so the
# host linker can follow them; a minimal dpkg database (status, file lists,
# shlibs/symbols) is written under var/lib/dpkg so dpkg-shlibdeps can compute
# Depends: for cross-built packages. The host's dpkg is never touched (no
# dpkg --add-architecture needed), and nothing comes from anywhere but the
# Debian mirrors the host's apt already uses.
#
# Cached: the tree carries a key (architecture + package list + this script);
# a run with the same key does nothing. Downloaded .debs are kept beside it, so
# a changed package list only fetches what is new.
#
# The same machinery makes the quick root file system of the package test
# (firmware/image/make-rootfs.sh --quick), through the environment:
#   VCGATE_SYSROOT_LIST=FILE    the package list instead of cross/sysroot-packages.txt
#                               (one name or apt pattern, e.g. ?essential, per line)
#   VCGATE_SYSROOT_EXTRA="a b"  more packages
#   VCGATE_SYSROOT_CHROOT=1     the dpkg database describes the tree as its own
#                               root (for dpkg run inside it), not as seen from the host
# VCGATE_JOBS (default nproc) packages are unpacked at once.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
arch=${1:-arm64}
case "$arch" in
  arm64) triplet=aarch64-linux-gnu ;;
  armhf) triplet=arm-linux-gnueabihf ;;
  *) echo "make-sysroot: unknown architecture '$arch' (arm64 or armhf)" >&2; exit 2 ;;
esac
cache=${VCGATE_CACHE:-$HOME/.cache/vcgate}
sysroot=${2:-$cache/sysroot-$arch}
aptdir=$cache/apt-$arch
list=${VCGATE_SYSROOT_LIST:-$here/sysroot-packages.txt}
chroot_db=${VCGATE_SYSROOT_CHROOT:-0}
jobs=${VCGATE_JOBS:-$(nproc)}

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
read -ra extra <<<"${VCGATE_SYSROOT_EXTRA:-}"  # no globbing: apt patterns have '?'
packages+=("${extra[@]}")
key=$( { echo "$arch"; printf '%s\n' "${packages[@]}"; echo "chroot=$chroot_db"; cat "${BASH_SOURCE[0]}"; } \
       | sha256sum | cut -d' ' -f1)

if [ -f "$sysroot/.vcgate-sysroot-key" ] && [ "$(cat "$sysroot/.vcgate-sysroot-key")" = "$key" ]; then
  echo "make-sysroot: $sysroot is up to date ($arch, ${#packages[@]} packages listed)"
  exit 0
fi
# A tree made while one package index could not be fetched (below) is used
# for a day, then made again in the hope that the mirror has recovered.
if [ -f "$sysroot/.vcgate-sysroot-key" ] && [ "$(cat "$sysroot/.vcgate-sysroot-key")" = "partial:$key" ] \
   && [ -n "$(find "$sysroot/.vcgate-sysroot-key" -mmin -1440)" ]; then
  echo "make-sysroot: $sysroot was made without one package index (see its first run); used until it is a day old"
  exit 0
fi

start=$(date +%s)
echo "make-sysroot: building $arch sysroot in $sysroot"
for tool in apt-get dpkg-deb tar sha256sum realpath; do
  command -v "$tool" >/dev/null || { echo "make-sysroot: $tool is missing" >&2; exit 1; }
done

# --- private apt state -------------------------------------------------------
# Sources: the Debian entries the host already uses (same mirror, same
# snapshot), every other repository left out. VCGATE_SYSROOT_SOURCES may name
# a sources file (one-line or deb822 format) to use instead.
mkdir -p "$aptdir"/{etc/sources.list.d,etc/preferences.d,state/lists/partial,cache/archives/partial}
rm -f "$aptdir"/etc/sources.list.d/* "$aptdir/etc/sources.list"
touch "$aptdir/etc/sources.list"
if [ -n "${VCGATE_SYSROOT_SOURCES:-}" ]; then
  case "$VCGATE_SYSROOT_SOURCES" in
    *.sources) cp "$VCGATE_SYSROOT_SOURCES" "$aptdir/etc/sources.list.d/" ;;
    *) cp "$VCGATE_SYSROOT_SOURCES" "$aptdir/etc/sources.list" ;;
  esac
else
  found=0
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    if grep -qiE '^URIs:.*debian' "$f"; then cp "$f" "$aptdir/etc/sources.list.d/"; found=1; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    # keep "deb" lines of Debian mirrors, drop [arch=...] restrictions
    if grep -E '^[[:space:]]*deb[[:space:]].*debian' "$f" \
        | sed -E 's/\[[^]]*\]//' >>"$aptdir/etc/sources.list"; then found=1; fi
  done
  [ "$found" = 1 ] || {
    echo "make-sysroot: no Debian entry in the host's apt sources; set VCGATE_SYSROOT_SOURCES" >&2
    exit 1
  }
fi
: >"$aptdir/state/status"

apt_opts=(
  -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
  -o "Dir::Etc::SourceList=$aptdir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$aptdir/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$aptdir/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$aptdir/etc/preferences.d"
  -o "Dir::State=$aptdir/state" -o "Dir::State::status=$aptdir/state/status"
  -o "Dir::Cache=$aptdir/cache" -o "Dir::Cache::archives=$aptdir/cache/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -o "Debug::NoLocking=1" -o "APT::Install-Recommends=0" -o "APT::Install-Suggests=0"
  -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root"
)
echo "make-sysroot: apt-get update ($arch lists)"
# A mirror caught mid-sync answers with index files of the wrong size: retry.
# If one index stays broken (seen: a proxy serving a stale security index),
# go on with the others and mark the tree as partial: it is used for a day,
# then made again.
partial=0
for try in 1 2 3; do
  if apt-get "${apt_opts[@]}" update -qq; then partial=0; break; fi
  partial=1
  [ "$try" -lt 3 ] && { echo "make-sysroot: apt-get update failed, retrying in $((try * 15)) s" >&2; sleep $((try * 15)); }
done
if [ "$partial" = 1 ]; then
  echo "make-sysroot: WARNING: some $arch package lists could not be fetched; building from the others" \
       "(used for a day, then made again)" >&2
fi
# With an empty status every dependency is "missing", so --download-only
# fetches exactly the closure of the list.
echo "make-sysroot: resolving and downloading ${#packages[@]} packages and their dependencies"
apt-get "${apt_opts[@]}" install -y -qq --download-only "${packages[@]}" >"$aptdir/install.log" 2>&1 || {
  cat "$aptdir/install.log" >&2; exit 1; }
# Exactly the closure (the archive directory may hold .debs of older lists).
# Simulation lines read "Inst NAME (VERSION ARCHIVE [ARCH])"; the cached file is
# NAME_VERSION_ARCH.deb with the epoch colon escaped.
mapfile -t debs < <(apt-get "${apt_opts[@]}" install -s "${packages[@]}" \
  | awk -v dir="$aptdir/cache/archives" '/^Inst / {
      v = $3; sub(/^\(/, "", v); gsub(/:/, "%3a", v)
      a = ""; for (i = 4; i <= NF; i++) if ($i ~ /^\[[a-z0-9]+\]\)?$/) a = $i
      gsub(/[][)]/, "", a)
      print dir "/" $2 "_" v "_" a ".deb" }')
for deb in "${debs[@]}"; do
  [ -f "$deb" ] || { echo "make-sysroot: $deb was not downloaded" >&2; exit 1; }
done
[ "${#debs[@]}" -gt 0 ] || { echo "make-sysroot: empty package closure" >&2; exit 1; }

# --- unpack -------------------------------------------------------------------
tmp=$sysroot.new
rm -rf "$tmp"
mkdir -p "$tmp"/usr/{bin,sbin,lib} "$tmp/var/lib/dpkg/info"
# bookworm boxes use merged /usr; the packages still ship some files in /lib.
ln -s usr/bin "$tmp/bin"; ln -s usr/sbin "$tmp/sbin"; ln -s usr/lib "$tmp/lib"
status=$tmp/var/lib/dpkg/status
: >"$status"
echo 1 >"$tmp/var/lib/dpkg/info/format"  # multiarch layout: NAME:ARCH.list for M-A: same
# The dpkg database's file lists: as the host sees them (dpkg-shlibdeps on the
# host asks which package owns SYSROOT/usr/lib/...), or as dpkg inside the tree does.
db_root=$sysroot
[ "$chroot_db" = 1 ] && db_root=""
parts=$tmp/.unpack
mkdir -p "$parts"
trap 'rm -rf "$parts"' EXIT
# One package: its files into the tree, its database entry into $parts/N.*
# (put together in apt's order below). Runs $jobs at a time.
unpack_one() {
  local n=$1 deb=$2 ctl name parch qual
  ctl=$parts/$n.control
  dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$tmp" \
    --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale \
    --exclude=./usr/share/info --exclude=./usr/share/lintian || return 1
  # minimal dpkg database entry: dpkg-shlibdeps asks dpkg-query which package
  # owns a library (by its path inside this tree) and reads its shlibs/symbols.
  mkdir -p "$ctl"
  dpkg-deb -e "$deb" "$ctl" || return 1
  name=$(sed -n 's/^Package: //p' "$ctl/control")
  parch=$(sed -n 's/^Architecture: //p' "$ctl/control")
  # dpkg names the files of Multi-Arch: same packages NAME:ARCH.*, others NAME.*
  qual=$name
  grep -qx 'Multi-Arch: same' "$ctl/control" && qual=$name:$parch
  { sed '/^$/d' "$ctl/control"; echo "Status: install ok installed"; echo; } >"$parts/$n.status"
  for f in shlibs symbols; do
    [ -f "$ctl/$f" ] && cp "$ctl/$f" "$tmp/var/lib/dpkg/info/$qual.$f"
  done
  # paths as shipped, and (for the host's view) as seen through the merged-/usr symlinks
  dpkg-deb -c "$deb" | awk -v root="$db_root" '{
      p = $6; for (i = 7; i <= NF; i++) p = p " " $i; sub(/ -> .*/, "", p)
      sub(/^\./, "", p); sub(/\/$/, "", p)
      if (p == "") next
      print root p
      if (root != "" && p ~ /^\/(lib|bin|sbin)\//) print root "/usr" p
    }' >"$tmp/var/lib/dpkg/info/$qual.list"
  rm -rf "$ctl"
}
export -f unpack_one
export tmp parts db_root
echo "make-sysroot: unpacking ${#debs[@]} packages ($jobs at a time)"
for i in "${!debs[@]}"; do printf '%s\0%s\0' "$i" "${debs[$i]}"; done \
  | xargs -0 -n 2 -P "$jobs" bash -c 'unpack_one "$1" "$2" || { echo "make-sysroot: cannot unpack $2" >&2; exit 255; }' _
for i in "${!debs[@]}"; do cat "$parts/$i.status"; done >"$status"
rm -rf "$parts"

# Absolute symlinks point at the host's files: make them relative to the tree.
while IFS= read -r link; do
  target=$(readlink "$link")
  case "$target" in
    /*) ln -sfn "$(realpath -s -m --relative-to="$(dirname "$link")" "$tmp$target")" "$link" ;;
  esac
done < <(find "$tmp" -type l)

# Libraries Debian provides through update-alternatives (BLAS/LAPACK, needed
# by gst-libav through libavfilter): the postinst that makes the link never
# runs here, so link the reference implementation.
for alt in blas lapack; do
  for lib in "$tmp/usr/lib/$triplet/$alt"/lib"$alt".so.*; do
    [ -e "$lib" ] && [ ! -e "$tmp/usr/lib/$triplet/${lib##*/}" ] && ln -s "$alt/${lib##*/}" "$tmp/usr/lib/$triplet/"
  done
done

if [ "$partial" = 0 ]; then echo "$key" >"$tmp/.vcgate-sysroot-key"; else echo "partial:$key" >"$tmp/.vcgate-sysroot-key"; fi
printf '%s\n' "${debs[@]##*/}" >"$tmp/.vcgate-sysroot-packages"
rm -rf "$sysroot"
mv "$tmp" "$sysroot"
echo "make-sysroot: $arch sysroot ready: ${#debs[@]} packages, $(du -sh "$sysroot" | cut -f1), $(( $(date +%s) - start )) s"
