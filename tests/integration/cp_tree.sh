#!/bin/bash
# SPDX-License-Identifier: MIT
# cp -a of a tree with symlinks, hard links and xattrs onto the mount, then
# compare contents, link structure and xattrs, both through the mount and
# on the host side of the share (an image: the tree `vhostfs export` gets
# out of it, with the daemon stopped; then served again).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools cp diff getfattr setfattr find stat

make_tree() {
	local t=$1 i
	mkdir -p "$t/a/b/c" "$t/empty" "$t/modes"
	: >"$t/zero"
	head -c 4095 /dev/urandom >"$t/a/odd"
	head -c 4096 /dev/urandom >"$t/a/page"
	head -c $((1024 * 1024 + 3)) /dev/urandom >"$t/a/b/big"
	for i in $(seq 1 200); do echo "file $i" >"$t/a/b/c/f$i"; done
	ln -s ../odd "$t/a/b/rel-link"
	ln -s /nonexistent/target "$t/dangling"
	ln -s a/b "$t/dir-link"
	ln "$t/a/page" "$t/hard1"
	ln "$t/a/page" "$t/a/b/hard2"
	chmod 0600 "$t/a/odd"
	chmod 0751 "$t/modes"
	chmod 1777 "$t/empty"
	setfattr -n user.colour -v blue "$t/a/odd"
	setfattr -n user.empty "$t/zero"
	setfattr -n user.bin -v 0x00ff10 "$t/a/b"
	touch -d '2001-02-03 04:05:06.789' "$t/a/b/big"
}

# every name's user xattrs, in name order (readdir order differs between
# file systems, and between two copies of a tree on one)
xattr_dump() {
	(cd "$1" && find . -print0 | LC_ALL=C sort -z |
		xargs -0 getfattr -h -d -m '^user\.' -e hex 2>/dev/null)
}

SRC=$VFS_TMP/src
mkdir "$SRC"
make_tree "$SRC"
vfs_start

vfs_run 120 cp -a "$SRC" "$VFS_MNT/copy"
vfs_run 60 diff -r --no-dereference "$SRC" "$VFS_MNT/copy"
[ "$(xattr_dump "$SRC")" = "$(xattr_dump "$VFS_MNT/copy")" ] ||
	vfs_fail "xattrs differ through the mount:" \
		"$(diff <(xattr_dump "$SRC") <(xattr_dump "$VFS_MNT/copy"))"
[ "$(stat -c %i "$VFS_MNT/copy/hard1")" = \
	"$(stat -c %i "$VFS_MNT/copy/a/b/hard2")" ] ||
	vfs_fail "hard links were not preserved"
[ "$(stat -c %h "$VFS_MNT/copy/hard1")" = 3 ] || vfs_fail "link count"
[ "$(stat -c %a "$VFS_MNT/copy/empty")" = 1777 ] || vfs_fail "sticky mode"
[ "$(stat -c %Y "$VFS_MNT/copy/a/b/big")" = "$(stat -c %Y "$SRC/a/b/big")" ] ||
	vfs_fail "mtime not preserved"
[ "$(readlink "$VFS_MNT/copy/dangling")" = /nonexistent/target ] ||
	vfs_fail "dangling symlink target"

# what the server wrote on the host is the same tree
vfs_view_live
vfs_run 60 diff -r --no-dereference "$SRC" "$VFS_VIEW/copy"
[ "$(xattr_dump "$SRC")" = "$(xattr_dump "$VFS_VIEW/copy")" ] ||
	vfs_fail "xattrs differ on the host"
[ "$(stat -c %i "$VFS_VIEW/copy/hard1")" = \
	"$(stat -c %i "$VFS_VIEW/copy/a/b/hard2")" ] ||
	vfs_fail "hard links on the host"

# and it copies back out unchanged
vfs_run 120 cp -a "$VFS_MNT/copy" "$VFS_TMP/back"
vfs_run 60 diff -r --no-dereference "$SRC" "$VFS_TMP/back"
[ "$(xattr_dump "$SRC")" = "$(xattr_dump "$VFS_TMP/back")" ] ||
	vfs_fail "xattrs differ after copying back"

vfs_run 60 rm -rf "$VFS_MNT/copy"
vfs_stop
vfs_view
[ -z "$(ls -A "$VFS_VIEW")" ] || vfs_fail "share not empty after rm -rf"
vfs_log "PASS"
