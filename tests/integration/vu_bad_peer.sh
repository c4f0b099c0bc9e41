#!/bin/bash
# SPDX-License-Identifier: MIT
# Hostile vhost-user front-ends against a running vhostfsd (vu_bad_peer.c):
# each malformed message or ring on a fresh connection, then the daemon
# must be alive, `vhostfs bench smoke` must pass, and in the end it must
# hold no more fds than before the first case and stop cleanly on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
[ -x "${VU_BAD_PEER:-}" ] || vfs_skip "VU_BAD_PEER does not name the test program"
[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name the vhostfs tool"

vfs_vu_start --queues 2 --threads 2
fds=$(ls "/proc/$VFS_PID/fd" | wc -l)
vfs_run 600 "$VU_BAD_PEER" "$VFS_SOCK" "$VFS_PID" \
	"$VHOSTFS" bench smoke --socket "$VFS_SOCK" --timeout 10
# the last connection is torn down before the next one is accepted
vfs_run 60 "$VHOSTFS" bench smoke --socket "$VFS_SOCK" --timeout 10 >/dev/null
# teardown of the last connection runs on after its socket closed: give it
# a few seconds to finish (a leak stays a leak however long we wait)
for _ in $(seq 50); do
	now=$(ls "/proc/$VFS_PID/fd" | wc -l)
	[ "$now" -eq "$fds" ] && break
	sleep 0.1
done
[ "$now" -eq "$fds" ] || vfs_fail "fds: $fds before the bad peers, $now after"
grep -q 'broken by the guest' "$VFS_LOG" || vfs_fail "no broken ring was logged"
vfs_vu_stop
vfs_log "PASS"
