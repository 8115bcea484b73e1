#!/usr/bin/env bash
# What a Debian packager checks first in a vcgate .deb, from `dpkg-deb --info`,
# `dpkg-deb --contents` and the files themselves, without installing it.
#
#   tools/check-deb.sh [--lintian] DEB [ARCH]
#
# ARCH: the architecture the package must be for (default: from the file
# name, vcgate_VERSION_ARCH.deb). --lintian also runs lintian (if installed)
# and fails on its errors; its warnings are printed. Prints one line per
# check; exit 0 when all passed, 1 when one failed, 2 on usage errors.
# CI (tools/setup.sh test) runs it on the amd64 and the arm64 package.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lintian=0
if [ "${1:-}" = --lintian ]; then lintian=1; shift; fi
deb=${1:-}
[ -n "$deb" ] && [ -f "$deb" ] || { sed -n '5,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
arch=${2:-$(basename "$deb" .deb | sed -n 's/^vcgate_[^_]*_\([a-z0-9]*\)$/\1/p')}
[ -n "$arch" ] || { echo "check-deb: cannot tell the architecture from '$deb'; name it" >&2; exit 2; }

failures=0
ok() { echo "check-deb: ok    $*"; }
bad() { echo "check-deb: FAIL  $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb --info "$deb" >"$work/info"
dpkg-deb --contents "$deb" >"$work/contents"
dpkg-deb --control "$deb" "$work/control"
dpkg-deb --ctrl-tarfile "$deb" | tar -tvf - >"$work/control-contents"
dpkg-deb --extract "$deb" "$work/root"
field() { dpkg-deb --field "$deb" "$1"; }

# --- control fields -------------------------------------------------------------
check "Package: vcgate" test "$(field Package)" = vcgate
check "Architecture: $arch" test "$(field Architecture)" = "$arch"
version=$(field Version)
check "Version: $version is a Debian version" bash -c "dpkg --validate-version '$version'"
check "Section: $(field Section)" test -n "$(field Section)"
check "Priority: $(field Priority)" bash -c "echo '$(field Priority)' | grep -qxE 'required|important|standard|optional|extra'"
maintainer=$(field Maintainer)
# A name and an address with a real-looking domain (lintian: bogus-mail-host).
check "Maintainer: $maintainer" bash -c "echo '$maintainer' | grep -qE '^[^<]+ <[^@ ]+@[a-z0-9-]+(\.[a-z0-9-]+)+>$'"
check "Description: a synopsis and an extended description" \
  bash -c "[ \$(dpkg-deb --field '$deb' Description | wc -l) -ge 2 ]"

# Depends: computed by dpkg-shlibdeps, so the libraries the programs link come
# with a minimum version; the plugins GStreamer loads at run time by name.
depends=$(field Depends)
dep_has() {  # NAME [versioned]
  echo "$depends" | tr ',' '\n' | awk -v name="$1" -v versioned="${2:-}" '
    { sub(/^ +/, ""); split($0, w, " ") }
    w[1] == name && (versioned == "" || $0 ~ /\((>=|=) [^)]+\)$/) { found = 1 }
    END { exit !found }'
}
for lib in libc6 libstdc++6 libzmq5 libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libglib2.0-0 \
           libyaml-cpp0.7 libssl3 libavformat59 libavcodec59; do
  check "Depends: $lib with a minimum version" dep_has "$lib" versioned
done
for pkg in libsystemd0 libspdlog1.10-fmt9 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
           gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly adduser procps; do
  check "Depends: $pkg" dep_has "$pkg"
done
check "Depends: no package twice" bash -c \
  "[ -z \"\$(echo '$depends' | tr ',' '\n' | sed -E 's/^ *([^ ]+).*/\1/' | sort | uniq -d)\" ]"

# Installed-Size: dpkg-gencontrol's count, 1 KiB per started KiB of each file
# plus 1 per directory and link; allow a little for how the builder rounds.
installed=$(field Installed-Size)
counted=$(awk '{ if ($1 ~ /^-/) s += int(($3 + 1023) / 1024); else s += 1 } END { print s }' "$work/contents")
check "Installed-Size: $installed KiB (contents: $counted KiB)" \
  bash -c "[ '$installed' -ge $((counted * 9 / 10)) ] && [ '$installed' -le $((counted * 11 / 10 + 8)) ]"

# --- contents -------------------------------------------------------------------
paths=$(awk '{ p = $6; for (i = 7; i <= NF; i++) p = p " " $i; sub(/ -> .*/, "", p); print p }' "$work/contents")
has() { echo "$paths" | grep -qxF "$1"; }
mode_of() { awk -v p="$1" '{ q = $6; for (i = 7; i <= NF; i++) q = q " " $i; if (q == p) print $1 }' "$work/contents"; }
check "every file and directory owned by root/root" \
  bash -c "[ -z \"\$(awk '\$2 != \"root/root\"' '$work/contents')\" ]"
check "no setuid/setgid file, nothing group- or world-writable" \
  bash -c "[ -z \"\$(awk '\$1 ~ /^.....w/ || \$1 ~ /^........w/ || \$1 ~ /[sS]/' '$work/contents')\" ]"
check "directories 0755, files 0644 or 0755" \
  bash -c "[ -z \"\$(awk '(\$1 ~ /^d/ && \$1 != \"drwxr-xr-x\") || (\$1 ~ /^-/ && \$1 != \"-rw-r--r--\" && \$1 != \"-rwxr-xr-x\")' '$work/contents')\" ]"
check "no build-tree path in the contents" \
  bash -c "! echo '$paths' | grep -qE '(^|/)(build[^/]*|_CPack_Packages|CMakeFiles|tmp|root|home|work)/'"
check "everything under /etc, /lib, /usr or /var" \
  bash -c "! echo '$paths' | grep -vqE '^\./(\$|(etc|lib|usr|var)/)'"

programs=(usr/sbin/vcgated usr/bin/vcgatectl usr/bin/vcgate-sub usr/bin/vcgate-camsim)
for p in "${programs[@]}"; do
  check "/$p, mode 0755" test "$(mode_of "./$p")" = -rwxr-xr-x
done
check "no other executable file" \
  bash -c "[ \"\$(awk '\$1 ~ /^-..x/' '$work/contents' | wc -l)\" -eq ${#programs[@]} ]"

# The programs are for $arch: ELF class and machine from the header.
case "$arch" in
  amd64) want_class=2 want_machine=62 ;;   # ELFCLASS64, EM_X86_64
  arm64) want_class=2 want_machine=183 ;;  # ELFCLASS64, EM_AARCH64
  armhf) want_class=1 want_machine=40 ;;   # ELFCLASS32, EM_ARM
  *) want_class="" want_machine="" ;;
esac
for p in "${programs[@]}"; do
  f=$work/root/$p
  [ -f "$f" ] || continue
  class=$(od -An -tu1 -j4 -N1 "$f" | tr -d ' ')
  machine=$(od -An -tu2 -j18 -N2 --endian=little "$f" | tr -d ' ')
  check "/$p is an $arch program (ELF class $class, machine $machine)" \
    test "$class:$machine" = "$want_class:$want_machine"
  # readelf reads any architecture's headers
  check "/$p: stripped, no RPATH/RUNPATH" bash -c \
    "! readelf -S '$f' | grep -q '\.debug_info' && ! readelf -d '$f' | grep -qE 'RPATH|RUNPATH'"
  check "/$p: no path of the source tree inside" bash -c "! grep -qaF '$here/' '$f'"
done

unit=""
for d in ./lib/systemd/system ./usr/lib/systemd/system; do has "$d/vcgated.service" && unit=$d/vcgated.service; done
check "systemd unit vcgated.service in /lib/systemd/system or /usr/lib/systemd/system" test -n "$unit"
[ -z "$unit" ] || check "${unit#.}: mode 0644, runs /usr/sbin/vcgated, WantedBy=multi-user.target" bash -c \
  "[ '$(mode_of "$unit")' = -rw-r--r-- ] && grep -q '^ExecStart=/usr/sbin/vcgated ' '$work/root/$unit' \
   && grep -qx 'WantedBy=multi-user.target' '$work/root/$unit'"

# --- conffiles --------------------------------------------------------------------
want_conffiles=(/etc/vcgate/vcgate.yaml /etc/vcgate/demo.yaml /etc/vcgate/station.yaml /etc/vcgate/mall.yaml)
check "conffiles in the control archive" test -f "$work/control/conffiles"
for c in "${want_conffiles[@]}"; do
  check "conffile $c, shipped" bash -c "grep -qxF '$c' '$work/control/conffiles' 2>/dev/null && echo '$paths' | grep -qxF '.$c'"
done
check "every file under /etc is a conffile, every conffile is shipped" bash -c "
  diff <(echo '$paths' | grep -E '^\./etc/.*[^/]\$' | sed 's/^\.//' | sort) <(sort '$work/control/conffiles' 2>/dev/null)"

# --- maintainer scripts ---------------------------------------------------------
for s in postinst prerm postrm; do
  f=$work/control/$s
  check "$s: present, mode 0755 root/root, #!/bin/sh with set -e, valid sh" bash -c \
    "[ -f '$f' ] && grep -qE '^-rwxr-xr-x root/root .* \./$s\$' '$work/control-contents' \
     && head -1 '$f' | grep -qx '#! \{0,1\}/bin/sh' && grep -qx 'set -e' '$f' && sh -n '$f'"
done
check "postinst creates the vcgate system group and user, and /var/lib/vcgate" bash -c \
  "grep -q 'addgroup .*--system .*vcgate' '$work/control/postinst' && grep -q 'adduser .*--system .*vcgate' '$work/control/postinst' \
   && grep -q '/var/lib/vcgate' '$work/control/postinst'"
check "postinst enables vcgated.service" grep -q "deb-systemd-helper enable 'vcgated.service'" "$work/control/postinst"
check "md5sums cover every shipped file" bash -c \
  "diff <(awk '\$1 ~ /^-/ { p = \$6; for (i = 7; i <= NF; i++) p = p \" \" \$i; sub(/^\.\//, \"\", p); print p }' '$work/contents' | sort) <(awk '{print \$2}' '$work/control/md5sums' | sort)"

# --- documentation ----------------------------------------------------------------
check "/usr/share/doc/vcgate/copyright" has ./usr/share/doc/vcgate/copyright
check "/usr/share/doc/vcgate/changelog.gz, newest entry is version $version" bash -c \
  "zcat '$work/root/usr/share/doc/vcgate/changelog.gz' | head -1 | grep -q '^vcgate ($version) '"
for p in "${programs[@]}"; do
  section=1; [ "${p%/*}" = usr/sbin ] && section=8
  check "manual page ${p##*/}.$section.gz" has "./usr/share/man/man$section/${p##*/}.$section.gz"
done

if [ "$lintian" = 1 ]; then
  if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$deb" >"$work/lintian" 2>&1 || true
    sed 's/^/check-deb: lintian: /' "$work/lintian"
    check "lintian: no error" bash -c "! grep -q '^E: ' '$work/lintian'"
  else
    bad "lintian is not installed (apt-get install lintian)"
  fi
fi

echo "check-deb: $(basename "$deb"): $failures check(s) failed"
[ "$failures" -eq 0 ]
