#!/bin/bash
# SPDX-License-Identifier: MIT
# Attempts to reach host files outside the share through the server.
#
# Over /dev/fuse the client is the host kernel itself, so a symlink on the
# mount is resolved by the client, against the client's view of the file
# system: that is correct and expected.  What must never happen is the
# server following a symlink (or "..") on the host and so touching files
# outside the share.  The layout makes the two distinguishable:
#   $T/share         the shared directory
#   $T/outside       reachable only by a server that follows ../outside
#   $T/mnt/m         the mount point
#   $T/mnt/outside   where the client resolves ../outside from the mount
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
[ -x "${VFS_HELPER:-}" ] || vfs_skip "VFS_HELPER does not name vfs_helper"
vfs_require_tools mknod mkfifo

OUT=$VFS_TMP/outside
CLIENT_OUT=$VFS_MNT/outside
VFS_MNT=$VFS_MNT/m
mkdir -p "$OUT" "$CLIENT_OUT" "$VFS_MNT"
echo SECRET >"$OUT/secret"
echo CLIENT >"$CLIENT_OUT/secret"
vfs_start
M=$VFS_MNT

# 1. ".." at the root of the mount is the client's parent, never the share's
[ "$(stat -c %d:%i "$M/..")" = "$(stat -c %d:%i "$VFS_TMP/mnt")" ] ||
	vfs_fail "'..' of the mount root is not the mount point's parent"

# 2. a symlink to / resolves on the client side
ln -s / "$M/root-link"
[ "$(readlink "$M/root-link")" = / ] || vfs_fail "readlink of root-link"
[ -L "$VFS_SHARE/root-link" ] || vfs_fail "server did not store a symlink"
cmp -s "$M/root-link/etc/passwd" /etc/passwd ||
	vfs_fail "root-link/etc/passwd is not the client's /etc/passwd"

# 3. rename race: swap a directory and a symlink to ../outside while
#    creating and reading files below that name through the mount
mkdir "$M/d"
echo INSIDE >"$M/d/secret"
ln -s ../outside "$M/s"
"$VFS_HELPER" exchange "$M/d" "$M/s" 5 >"$VFS_TMP/exchange.out" &
racer=$!
seen_secret=0
end=$((SECONDS + 5))
i=0
while [ $SECONDS -lt $end ]; do
	i=$((i + 1))
	: >"$M/d/victim$i" 2>/dev/null || true
	v=$(cat "$M/d/secret" 2>/dev/null || true)
	[ "$v" = SECRET ] && seen_secret=1
	v=$(cat "$M/s/secret" 2>/dev/null || true)
	[ "$v" = SECRET ] && seen_secret=1
done
wait "$racer" || vfs_fail "exchange helper failed"
vfs_log "race: $i rounds, $(cat "$VFS_TMP/exchange.out")"
[ "$seen_secret" -eq 0 ] || vfs_fail "read $OUT/secret through the server"
created=$(find "$OUT" -mindepth 1 ! -name secret | head -n 3)
[ -z "$created" ] || vfs_fail "server created files outside the share: $created"
[ "$(cat "$OUT/secret")" = SECRET ] || vfs_fail "outside file changed"

# 4. device nodes: creating may be refused; opening must be
if mknod "$M/null" c 1 3 2>/dev/null; then
	"$VFS_HELPER" open-refused "$M/null" ||
		vfs_fail "a char device on the share opened through the mount"
fi
mknod "$VFS_SHARE/hostnull" c 1 3
"$VFS_HELPER" open-refused "$M/hostnull" ||
	vfs_fail "a host-made char device opened through the mount"

# 5. FIFOs: the mount's FIFO is the client's own pipe, never the host FIFO
mkfifo "$VFS_SHARE/fifo"
"$VFS_HELPER" fifo-isolated "$M/fifo" "$VFS_SHARE/fifo" ||
	vfs_fail "FIFO through the mount reached the host FIFO"
if mkfifo "$M/fifo2" 2>/dev/null; then
	[ -p "$VFS_SHARE/fifo2" ] || vfs_fail "mkfifo made something else"
fi

# 6. names the client cannot normally send are the engine's to refuse
#    (unit tests); through the kernel, "a/../.." stays client-side
[ "$(cd "$M/d/.." 2>/dev/null && pwd -P)" = "$M" ] ||
	vfs_fail "'d/..' left the mount"

vfs_stop
vfs_log "PASS"
