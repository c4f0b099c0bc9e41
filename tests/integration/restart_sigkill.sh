#!/bin/bash
# SPDX-License-Identifier: MIT
# A daemon killed with SIGKILL leaves a dead mount (ENOTCONN); a new daemon
# on the same mount point detaches it and serves the same files again (what
# was fsync'd before the kill; an image must also fsck clean after it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_start
echo "before the crash" >"$VFS_MNT/file"
mkdir "$VFS_MNT/dir"
# fsync of the file and of the directories holding the new names: a plain
# sync(1) does not reach a /dev/fuse server (the kernel sends FUSE_SYNCFS
# to virtio-fs only), and what was not synced may be lost with the daemon
sync "$VFS_MNT/file" "$VFS_MNT/dir" "$VFS_MNT"

kill -KILL "$VFS_PID"
wait "$VFS_PID" 2>/dev/null || true
VFS_PID=
# the kernel aborts the connection once the dead daemon's fds are released,
# which io_uring may do a little after the process is gone
for ((i = 0; i < 50; i++)); do
	err=$(stat "$VFS_MNT" 2>&1 || true)
	case "$err" in
	*"not connected"*) break ;;
	*"connection abort"*) sleep 0.1 ;;
	*) vfs_fail "expected ENOTCONN on the dead mount, got: $err" ;;
	esac
done
[ "$i" -lt 50 ] || vfs_fail "mount not dead 5 s after SIGKILL: $err"
vfs_log "dead mount after SIGKILL, as expected"
# an image the daemon could not close checks clean (its journal replayed)
[ "$VFS_BACKEND" = passthrough ] || vfs_fsck "SIGKILL"

vfs_start
[ "$(cat "$VFS_MNT/file")" = "before the crash" ] || vfs_fail "file content"
[ -d "$VFS_MNT/dir" ] || vfs_fail "directory missing"
echo "after the restart" >"$VFS_MNT/dir/new"
sync "$VFS_MNT/dir/new" "$VFS_MNT/dir"
n=$(findmnt -n -M "$VFS_MNT" | wc -l)
[ "$n" -eq 1 ] || vfs_fail "$n mounts stacked at $VFS_MNT"

# again, restarting at once (as a service manager would) without waiting
# for the kernel to notice that the old daemon is gone
kill -KILL "$VFS_PID"
wait "$VFS_PID" 2>/dev/null || true
VFS_PID=
vfs_start
[ "$(cat "$VFS_MNT/dir/new")" = "after the restart" ] ||
	vfs_fail "file content after the second restart"
n=$(findmnt -n -M "$VFS_MNT" | wc -l)
[ "$n" -eq 1 ] || vfs_fail "$n mounts stacked at $VFS_MNT"
vfs_stop
vfs_view
[ "$(cat "$VFS_VIEW/dir/new")" = "after the restart" ] ||
	vfs_fail "write after restart did not reach the host"
[ "$(cat "$VFS_VIEW/file")" = "before the crash" ] ||
	vfs_fail "the first write did not reach the host"
vfs_log "PASS"
