#!/bin/bash
# SPDX-License-Identifier: MIT
# Daemon options that change behaviour over /dev/fuse: --readonly, the -o
# spelling, the smallest thread/queue configuration, each cache mode.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
mkdir "$VFS_TMP/seed"
echo original >"$VFS_TMP/seed/f"
vfs_seed "$VFS_TMP/seed"

# --readonly: reads work, every change is refused, the host is untouched
vfs_start --readonly
[ "$(cat "$VFS_MNT/f")" = original ] || vfs_fail "read on a readonly share"
for cmd in "echo x >$VFS_MNT/f" "touch $VFS_MNT/new" "mkdir $VFS_MNT/d" \
	"rm $VFS_MNT/f" "chmod 600 $VFS_MNT/f"; do
	if bash -c "$cmd" 2>/dev/null; then
		vfs_fail "readonly share allowed: $cmd"
	fi
done
vfs_stop
vfs_view
[ "$(cat "$VFS_VIEW/f")" = original ] || vfs_fail "readonly share changed"
[ "$(ls -A "$VFS_VIEW")" = f ] || vfs_fail "readonly share: $(ls -A "$VFS_VIEW")"

# one thread, one slot, old-style options: everything still works
if [ "$VFS_BACKEND" = image ]; then
	vfs_start -o cache=never,log_level=warn --threads 1 --queue-depth 1
else
	vfs_start_args -o "source=$VFS_SHARE,cache=never,log_level=warn" \
		--fuse-mount "$VFS_MNT" --threads 1 --queue-depth 1
fi
vfs_run 60 bash -c 'for i in $(seq 1 200); do echo "$i" >"$1/n$i"; done
	for i in $(seq 1 200); do [ "$(cat "$1/n$i")" = "$i" ] || exit 1; done' \
	_ "$VFS_MNT"
# concurrent clients on a single slot: requests queue in the kernel
vfs_run 60 bash -c 'for j in 1 2 3 4; do
	(for i in $(seq 1 50); do cat "$1/n$i" >/dev/null; done) & done; wait' \
	_ "$VFS_MNT"
vfs_stop

for mode in auto always metadata never; do
	vfs_start --cache="$mode"
	echo "$mode" >"$VFS_MNT/mode"
	[ "$(cat "$VFS_MNT/mode")" = "$mode" ] || vfs_fail "cache=$mode read"
	if vfs_passthrough_only "cache=$mode: no host-side writer beside" \
		"the daemon (the image is locked while served)"; then
		echo "host-$mode" >"$VFS_SHARE/mode-host"
		[ "$(cat "$VFS_MNT/mode-host")" = "host-$mode" ] ||
			vfs_fail "cache=$mode: host file not seen"
	fi
	vfs_stop
	vfs_view
	[ "$(cat "$VFS_VIEW/mode")" = "$mode" ] || vfs_fail "cache=$mode write"
done
vfs_log "PASS"
