#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon's and the tool's command lines: help, version, capabilities,
# and one clear stderr line plus exit 1 for anything wrong.  No root needed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "${VHOSTFSD:-}" ] || vfs_skip "VHOSTFSD does not name vhostfsd"
[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name vhostfs"

# expect STATUS STDERR-PATTERN command...
expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	"$@" >"$VFS_TMP/out" 2>"$VFS_TMP/err" || rc=$?
	[ "$rc" -eq "$want" ] || vfs_fail "'$*' exited $rc, want $want"
	if [ -n "$pattern" ]; then
		[ "$(wc -l <"$VFS_TMP/err")" -eq 1 ] ||
			vfs_fail "'$*' printed $(wc -l <"$VFS_TMP/err") lines on stderr"
		grep -q -- "$pattern" "$VFS_TMP/err" ||
			vfs_fail "'$*': stderr '$(cat "$VFS_TMP/err")' lacks '$pattern'"
	fi
}

expect 0 "" "$VHOSTFSD" --help
grep -q -- "--shared-dir" "$VFS_TMP/out" || vfs_fail "help lacks --shared-dir"
expect 0 "" "$VHOSTFSD" --version
grep -q "^vhostfsd [0-9]" "$VFS_TMP/out" || vfs_fail "version line"
expect 0 "" "$VHOSTFSD" --print-capabilities
if command -v jq >/dev/null; then
	[ "$(jq -r .type "$VFS_TMP/out")" = fs ] || vfs_fail "capabilities type"
	jq -e '.features | index("separate-options")' "$VFS_TMP/out" \
		>/dev/null || vfs_fail "capabilities lack separate-options"
fi

expect 1 "unknown option '--bogus'" "$VHOSTFSD" --bogus
expect 1 "--cache" "$VHOSTFSD" --shared-dir /tmp --fuse-mount /mnt --cache=x
expect 1 "unknown -o option 'nope'" "$VHOSTFSD" -o source=/tmp,nope
expect 1 "--shared-dir" "$VHOSTFSD" --fuse-mount /mnt
touch "$VFS_TMP/file"
expect 1 "cannot listen on $VFS_TMP/file" "$VHOSTFSD" --shared-dir /tmp \
	--socket-path "$VFS_TMP/file"
expect 1 "--fd 99 is not a socket" "$VHOSTFSD" -o source=/tmp --fd=99
expect 1 "mutually exclusive" "$VHOSTFSD" --shared-dir /tmp --fd=99 \
	--socket-path "$VFS_TMP/sock"
expect 1 "vhost-user" "$VHOSTFSD" --shared-dir /tmp --fuse-mount /mnt \
	--queues 2
expect 1 "--queues" "$VHOSTFSD" --shared-dir /tmp --socket-path \
	"$VFS_TMP/sock" --queues 65
expect 1 "--threads" "$VHOSTFSD" --shared-dir /tmp --fuse-mount /mnt \
	--threads 0

expect 0 "" "$VHOSTFS" --help
grep -q "Usage: vhostfs" "$VFS_TMP/out" || vfs_fail "vhostfs help"
expect 0 "" "$VHOSTFS" --version
grep -q "^vhostfs [0-9]" "$VFS_TMP/out" || vfs_fail "vhostfs version"
expect 1 "unknown command 'frob'" "$VHOSTFS" frob
expect 0 "" "$VHOSTFS" bench --help
grep -q "smoke" "$VFS_TMP/out" || vfs_fail "vhostfs bench --help"
expect 2 "" "$VHOSTFS" bench smoke
vfs_log "PASS"
