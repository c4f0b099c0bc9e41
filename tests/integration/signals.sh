#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGTERM and SIGINT unmount cleanly and the daemon exits 0, also while the
# mount is busy (a process has its working directory and a file open in it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root

vfs_start
echo data >"$VFS_MNT/f"
vfs_stop_signal TERM
vfs_view
[ "$(cat "$VFS_VIEW/f")" = data ] || vfs_fail "data lost after SIGTERM"
grep -q -F "serving $(vfs_source) at $VFS_MNT" "$VFS_LOG" ||
	vfs_fail "no start-up line in the log"

vfs_start
vfs_stop_signal INT

# busy: the unmount is lazy, the daemon must still exit
vfs_start
(cd "$VFS_MNT" && exec 3<f && exec sleep 30) &
holder=$!
sleep 0.5
vfs_stop_signal TERM
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true

# the daemon is gone: the old mount point is an ordinary directory again
[ -z "$(ls -A "$VFS_MNT")" ] || vfs_fail "mount point not empty after exit"
vfs_log "PASS"
