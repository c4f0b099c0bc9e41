#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`: vhostfsd serves var/share to a small QEMU guest over
# vhost-user; the guest mounts it, lists it, reads a file the host wrote
# and writes one back, powers off; the host then reads the guest's file.
#
#   scripts/demo.sh [BUILD_DIR]     (default: build)
#
# Needs root, qemu-system-x86_64 and the guest image (built here by
# scripts/guest-image.sh: Debian's cloud kernel and a busybox initramfs).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
share=${SHARE:-$top/var/share}
sock=$top/var/demo.sock
log=$top/var/demo-vhostfsd.log
console=$top/var/demo-console.log
dpid=''

say() { printf '\n== %s\n' "$*"; }
cleanup() {
	[ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$share/.guest"
}
trap cleanup EXIT

command -v qemu-system-x86_64 >/dev/null ||
	{ echo "demo: qemu-system-x86_64 is missing (make deps installs it)"; exit 1; }
say "guest image (Debian 12 cloud kernel + busybox initramfs)"
"$top/scripts/guest-image.sh"

mkdir -p "$share"
echo "hello from the host, $(date)" >"$share/hello-from-host.txt"
rm -f "$share/hello-from-guest.txt"

say "vhostfsd --socket-path $sock --shared-dir $share"
"$build/src/app/vhostfsd" --socket-path "$sock" --shared-dir "$share" >"$log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$log"; exit 1; }
head -n 2 "$log"

# What the guest runs once the share is mounted at /mnt (busybox sh).
script=$(mktemp /tmp/vhostfs-demo.XXXXXX)
cat >"$script" <<'EOF'
say() { echo "guest\$ $*"; "$@" 2>&1 | sed 's/^/       /'; }
say uname -r
say grep virtiofs /proc/mounts
say ls -l /mnt
say cat /mnt/hello-from-host.txt
echo "hello from the guest ($(uname -r))" >/mnt/hello-from-guest.txt
say cat /mnt/hello-from-guest.txt
say df -h /mnt
EOF

say "booting the guest (QEMU, vhost-user-fs-pci, tag vhostfs)"
rc=0
"$top/tests/guest/run-guest.sh" --socket "$sock" --share "$share" \
	--script "$script" --tag vhostfs --log "$console" || rc=$?
rm -f "$script"
sed -n 's/\r$//; /^guest\$ \|^       /p' "$console"
[ "$rc" = 0 ] || { echo "demo: the guest failed (rc=$rc), console log: $console"; exit 1; }

say "back on the host: $share/hello-from-guest.txt"
cat "$share/hello-from-guest.txt"

say "stopping vhostfsd (SIGTERM)"
kill -TERM "$dpid"
wait "$dpid" || { echo "demo: vhostfsd exit status $?"; exit 1; }
dpid=''
grep -E 'session ended|exiting' "$log" | sed 's/^vhostfs\[info\]: //'
echo
echo "demo: done (daemon log: $log)"
