#!/bin/bash
# SPDX-License-Identifier: MIT
# tar create / extract / compare, with the archive and the tree on the mount.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools tar diff

SRC=$VFS_TMP/src
mkdir -p "$SRC/d1/d2" "$SRC/d3"
for i in $(seq 1 300); do
	head -c $((i * 97)) /dev/urandom >"$SRC/d1/f$i"
done
head -c $((3 * 1024 * 1024)) /dev/urandom >"$SRC/d3/large"
ln -s ../d3/large "$SRC/d1/d2/link"
ln "$SRC/d1/f7" "$SRC/d3/hard"
mkfifo "$SRC/d3/fifo"  # diff cannot compare FIFOs: checked by type below
vfs_start

vfs_run 120 tar --xattrs -C "$SRC" -cf "$VFS_MNT/a.tar" .
vfs_run 60 tar -tf "$VFS_MNT/a.tar" >/dev/null
mkdir "$VFS_MNT/x"
vfs_run 120 tar --xattrs -C "$VFS_MNT/x" -xf "$VFS_MNT/a.tar"
vfs_run 60 diff -r --no-dereference --exclude=fifo "$SRC" "$VFS_MNT/x"
[ -p "$VFS_MNT/x/d3/fifo" ] || vfs_fail "FIFO not restored"
[ "$(stat -c %i "$VFS_MNT/x/d1/f7")" = "$(stat -c %i "$VFS_MNT/x/d3/hard")" ] ||
	vfs_fail "hard link not restored"

# the archive as the host sees it is the one the mount shows
vfs_view_live
cmp "$VFS_VIEW/a.tar" "$VFS_MNT/a.tar" || vfs_fail "archive differs host/mount"

# tar reading from the mount: extract it on the host and compare again
mkdir "$VFS_TMP/out"
vfs_run 120 bash -c 'tar --xattrs -C "$1" -cf - . | tar --xattrs -C "$2" -xf -' \
	_ "$VFS_MNT/x" "$VFS_TMP/out"
vfs_run 60 diff -r --no-dereference --exclude=fifo "$SRC" "$VFS_TMP/out"

vfs_stop
vfs_log "PASS"
