#!/usr/bin/env bash
# The arm64 package on an arm64 box, emulated: make a root file system with
# the package installed (make-rootfs.sh), then inside it, through qemu-user:
#   1. the package's maintainer scripts did their job (vcgate user and group,
#      /var/lib/vcgate, /etc/vcgate conffiles, vcgated.service enabled), and
#      the first-boot step makes the box's key pair;
#   2. vcgated --check-config passes on every shipped config;
#   3. vcgated runs the demo config for 20 s as user vcgate, and a vcgate-sub
#      on the host receives its heartbeats and an alarm raised with vcgatectl
#      through the daemon's control socket; SIGTERM stops it with exit 0
#      within the unit's TimeoutStopSec.
#
#   firmware/image/test-rootfs.sh [--image] [DEB]
#
# By default the root file system is make-rootfs.sh --quick (Debian packages
# unpacked on the host, only vcgate installed by dpkg under qemu): minutes,
# what CI runs. --image tests the flashable image instead (debootstrap and
# apt under qemu; 10-30 minutes the first time, cached after).
# DEB: default the newest vcgate_*_arm64.deb in build-arm64/. Host tools:
# vcgate-sub and vcgatectl from the native build (VCGATE_HOST_BUILD_DIR,
# default build/); if they are missing, the arm64 ones inside the root file
# system are used through qemu. Needs root. Exit 0 when every check passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=--quick
if [ "${1:-}" = --image ]; then mode=""; shift; fi
deb=${1:-$(ls -t "$here"/build-arm64/vcgate_*_arm64.deb 2>/dev/null | head -1 || true)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "test-rootfs: no arm64 .deb (run cpack in build-arm64 first)" >&2; exit 2; }
out=${VCGATE_ROOTFS_TEST_DIR:-$here/build-rootfs-arm64}
host_build=${VCGATE_HOST_BUILD_DIR:-$here/build}
run_s=${VCGATE_ROOTFS_RUN_S:-20}
t0=$(date +%s)
failures=0
pass() { echo "test-rootfs: PASS $*"; }
fail() { echo "test-rootfs: FAIL $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

VCGATE_ROOTFS_NO_TAR=${VCGATE_ROOTFS_NO_TAR:-1} "$here/firmware/image/make-rootfs.sh" $mode "$deb" "$out"
root=$out/rootfs
in_root() { chroot "$root" "$@"; }
echo "test-rootfs: root file system ready after $(( $(date +%s) - t0 )) s"

# --- 1. what the package installed -----------------------------------------------
check "vcgate group exists" bash -c "chroot '$root' getent group vcgate >/dev/null"
check "vcgate system user exists, no login shell" \
  bash -c "chroot '$root' getent passwd vcgate | grep -q ':/usr/sbin/nologin$'"
check "/var/lib/vcgate owned by vcgate" bash -c "[ \"\$(chroot '$root' stat -c %U:%G /var/lib/vcgate)\" = vcgate:vcgate ]"
check "/etc/vcgate readable by group vcgate only" bash -c "[ \"\$(chroot '$root' stat -c %U:%G:%a /etc/vcgate)\" = root:vcgate:750 ]"
for f in vcgate.yaml demo.yaml station.yaml mall.yaml; do
  check "conffile /etc/vcgate/$f" grep -qx "/etc/vcgate/$f" "$root/var/lib/dpkg/info/vcgate.conffiles"
done
check "vcgated.service enabled" in_root systemctl is-enabled --quiet vcgated.service
check "vcgated in /usr/sbin" test -x "$root/usr/sbin/vcgated"
check "vcgated is an arm64 program" bash -c "chroot '$root' file -L /usr/sbin/vcgated | grep -q 'ARM aarch64'"
check "/usr/share/doc/vcgate/copyright and changelog.gz" \
  test -s "$root/usr/share/doc/vcgate/copyright" -a -s "$root/usr/share/doc/vcgate/changelog.gz"

# The box's first boot (vcgate-keygen.service): the key pair where
# docs/security.md expects it, the secret readable by vcgate only.
check "vcgate-keygen.service enabled" in_root systemctl is-enabled --quiet vcgate-keygen.service
check "first boot makes the box's key pair" in_root /usr/lib/vcgate/firstboot-keygen
check "gateway.key_secret: vcgate:vcgate 600, gateway.key: 644, keys/ root:vcgate 750" bash -c "
  [ \"\$(chroot '$root' stat -c %U:%G:%a /etc/vcgate/keys/gateway.key_secret)\" = vcgate:vcgate:600 ] &&
  [ \"\$(chroot '$root' stat -c %a /etc/vcgate/keys/gateway.key)\" = 644 ] &&
  [ \"\$(chroot '$root' stat -c %U:%G:%a /etc/vcgate/keys)\" = root:vcgate:750 ]"
check "first boot never replaces a key pair" bash -c "! chroot '$root' /usr/lib/vcgate/firstboot-keygen >/dev/null 2>&1"

# --- 2. check-config ---------------------------------------------------------------
for f in vcgate.yaml demo.yaml station.yaml mall.yaml; do
  check "vcgated --check-config /etc/vcgate/$f" in_root /usr/sbin/vcgated --check-config "/etc/vcgate/$f"
done

# --- 3. the demo for $run_s s, watched from the host ----------------------------------
# The demo's publish port, moved to a free one so that a demo already running
# on this machine does not interfere; nothing else of the config changes.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s#tcp://127.0.0.1:5556#tcp://127.0.0.1:$port#" "$root/etc/vcgate/demo.yaml" >"$root/etc/vcgate/test-demo.yaml"
control=$(sed -n 's#^[[:space:]]*control:[[:space:]]*ipc://\(.*\)$#\1#p' "$root/etc/vcgate/test-demo.yaml")
rm -rf "$root/tmp/vcgate-demo"

sub=$host_build/tools/sub/vcgate-sub
ctl=$host_build/tools/ctl/vcgatectl
if [ -x "$sub" ] && [ -x "$ctl" ]; then
  where="host"
  ctl_cmd=("$ctl" -e "ipc://$root$control")
  sub_cmd=("$sub")
else
  where="arm64 rootfs (no native build at $host_build)"
  ctl_cmd=(chroot "$root" /usr/bin/vcgatectl -e "ipc://$control")
  sub_cmd=(chroot "$root" /usr/bin/vcgate-sub)
fi
logs=$out/test-logs
rm -rf "$logs"; mkdir -p "$logs"

ids=$(chroot "$root" sh -c 'echo "$(id -u vcgate):$(id -g vcgate)"')
# As the unit runs it: user vcgate, HOME its home (where GStreamer keeps its registry).
env -i PATH=/usr/sbin:/usr/bin HOME=/var/lib/vcgate LANG=C.UTF-8 \
  chroot --userspec="$ids" "$root" /usr/sbin/vcgated --config /etc/vcgate/test-demo.yaml \
  >"$logs/vcgated.log" 2>&1 &
daemon=$!
t_start=$(date +%s)
"${sub_cmd[@]}" --connect "tcp://127.0.0.1:$port" --json --no-video --duration $((run_s + ${VCGATE_ROOTFS_START_S:-600})) \
  --summary "$logs/sub-summary.json" >"$logs/sub.jsonl" 2>"$logs/sub.err" &
subscriber=$!

# Start-up under emulation is slow (the first start scans every GStreamer
# plugin under qemu): wait for the control socket, then run $run_s s and
# raise an alarm at the start of them.
start_s=${VCGATE_ROOTFS_START_S:-600}
for _ in $(seq 1 "$start_s"); do
  [ -S "$root$control" ] && break
  kill -0 "$daemon" 2>/dev/null || break
  sleep 1
done
echo "test-rootfs: control socket after $(( $(date +%s) - t_start )) s"
raised=0
for _ in $(seq 1 "$run_s"); do
  kill -0 "$daemon" 2>/dev/null || break
  if [ -S "$root$control" ] && [ $raised = 0 ]; then
    if "${ctl_cmd[@]}" alarm raise lobby --level 2 --type intrusion \
         --description "rootfs test" >"$logs/ctl.log" 2>&1; then
      raised=1
    fi
  fi
  sleep 1
done
if kill -0 "$daemon" 2>/dev/null; then
  pass "vcgated ran the demo for $run_s s under qemu-aarch64"
  # What systemctl stop does: SIGTERM, then SIGKILL after TimeoutStopSec.
  stop_timeout=$(sed -n 's/^TimeoutStopSec=//p' "$root/lib/systemd/system/vcgated.service")
  t_stop=$(date +%s%N)
  kill -TERM "$daemon"
  for _ in $(seq 1 $((stop_timeout * 10))); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$daemon" 2>/dev/null && kill -KILL "$daemon"
  status=0; wait "$daemon" || status=$?
  stop_ms=$(( ($(date +%s%N) - t_stop) / 1000000 ))
  check "vcgated stopped on SIGTERM with exit 0 in $stop_ms ms (exit $status; TimeoutStopSec=$stop_timeout)" \
    test "$status" -eq 0 -a "$stop_ms" -lt $((stop_timeout * 1000))
else
  status=0; wait "$daemon" || status=$?
  fail "vcgated exited early with $status; last lines:"; tail -20 "$logs/vcgated.log"
fi
sleep 2
kill -INT "$subscriber" 2>/dev/null || true
wait "$subscriber" || true
check "vcgatectl alarm raise through the control socket ($where)" test $raised = 1
check "vcgate-sub ($where) saw the gateway's heartbeat" \
  bash -c "grep '\"type\":\"gateway\"' '$logs/sub.jsonl' | grep -q '\"state\":\"up\"'"
check "vcgate-sub ($where) received the alarm" grep -q '"type":"alarm"' "$logs/sub.jsonl"
rm -f "$root/etc/vcgate/test-demo.yaml"

echo "test-rootfs: logs in $logs; $(( $(date +%s) - t0 )) s"
if [ "$failures" -gt 0 ]; then
  echo "test-rootfs: $failures check(s) failed"
  exit 1
fi
echo "test-rootfs: all checks passed"
