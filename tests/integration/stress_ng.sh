#!/bin/bash
# SPDX-License-Identifier: MIT
# stress-ng's file-system stressors on the mount, one after the other,
# each for a few seconds with its own verification.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools stress-ng

SECONDS_EACH=${VFS_STRESS_SECONDS:-5}
vfs_start

for s in dir dentry rename link symlink xattr fallocate seek flock lockf; do
	vfs_log "stress-ng --$s"
	out=$VFS_TMP/stress-$s.out
	rc=0
	timeout -k 10 $((SECONDS_EACH + 60)) stress-ng --"$s" 2 \
		--timeout "${SECONDS_EACH}s" --temp-path "$VFS_MNT" --verify \
		--metrics-brief >"$out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || grep -E -q "(fail|error):" "$out"; then
		cat "$out"
		vfs_fail "stress-ng --$s (status $rc)"
	fi
	grep -E "metrc:.* $s " "$out" | head -n 2 || true
done
# stress-ng removes its files; nothing may be left behind in the share
vfs_stop
vfs_view
leftover=$(find "$VFS_VIEW" -mindepth 1 | head -n 5)
[ -z "$leftover" ] || vfs_fail "stress-ng left files: $leftover"
vfs_log "PASS"
