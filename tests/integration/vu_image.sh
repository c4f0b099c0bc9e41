#!/bin/bash
# SPDX-License-Identifier: MIT
# vhostfsd --image: a file system of a vhostfs image served over /dev/fuse
# and over vhost-user.  Real file work through the mount (cp -a of a tree,
# checksums, rename, unlink, statfs), SIGTERM, a restart that finds every
# byte again, SIGKILL and a journal replay that keeps what was synced,
# `vhostfs fsck` clean after each run; the image is locked
# while served; --readonly and --export; vhost-user front-ends (`vhostfs
# bench`) against the same image; a snapshot served read-only, a clone
# served read-write without changing its origin.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools sha256sum cp find stat
[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name the vhostfs tool"
[ -x "${VIMAGE_HELPER:-}" ] || vfs_skip "VIMAGE_HELPER is not set"

IMG=$VFS_TMP/vhostfs.img
SRC=$VFS_TMP/src

# the tree copied in: sizes around block and cluster edges, a hole, a
# symlink, a hard link, modes, an empty directory
make_tree() {
	mkdir -p "$SRC/a/b/c" "$SRC/empty" "$SRC/many"
	local s
	for s in 0 1 4095 4096 4097 65536 1000000 3145728; do
		head -c "$s" /dev/urandom >"$SRC/a/f$s"
	done
	for s in $(seq 1 300); do
		echo "small file $s" >"$SRC/many/m$s"
	done
	head -c 20000 /dev/urandom >"$SRC/a/b/c/deep"
	truncate -s 10M "$SRC/a/sparse"
	printf 'tail' | dd of="$SRC/a/sparse" bs=1 seek=9000000 conv=notrunc \
		status=none
	ln -s ../a/f4096 "$SRC/a/b/link"
	ln "$SRC/a/f65536" "$SRC/a/b/hard"
	chmod 0600 "$SRC/a/f1"
	chmod 0750 "$SRC/a/b"
}

# path, type, mode, size, links and content hash of every entry under $1
# (a directory's size is the file system's own business)
manifest() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%p %y %m %n\n' \) \
		-o -printf '%p %y %m %s %n %l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

fsck_clean() {
	"$VHOSTFS" fsck "$IMG" >"$VFS_TMP/fsck.out" 2>&1 ||
		{ cat "$VFS_TMP/fsck.out"; vfs_fail "vhostfs fsck: $1"; }
	vfs_log "fsck clean ($1)"
}

serve() {
	vfs_start_args --image "$IMG" --fuse-mount "$VFS_MNT" "$@"
}

# --- an image with the default file system ------------------------------------

vfs_run 60 "$VHOSTFS" mkfs "$IMG" --size 2G >/dev/null
vfs_run 30 "$VIMAGE_HELPER" ensure "$IMG" main
make_tree

# --- first run: copy, check, change, SIGTERM -----------------------------------

serve
grep -q "serving $IMG (file system 'main') at $VFS_MNT" "$VFS_LOG" ||
	vfs_fail "no banner naming the image"
# one writer at a time
if "$VHOSTFSD" --image "$IMG" --fuse-mount "$VFS_TMP" >"$VFS_TMP/second.log" \
	2>&1; then
	vfs_fail "a second vhostfsd served the image"
fi
grep -q "in use" "$VFS_TMP/second.log" ||
	vfs_fail "second daemon: $(cat "$VFS_TMP/second.log")"

free0=$(stat -f -c %f "$VFS_MNT")
vfs_run 120 cp -a "$SRC" "$VFS_MNT/tree"
[ "$(manifest "$SRC")" = "$(manifest "$VFS_MNT/tree")" ] ||
	vfs_fail "the copy differs from the source"
[ "$(stat -c %i "$VFS_MNT/tree/a/f65536")" = \
	"$(stat -c %i "$VFS_MNT/tree/a/b/hard")" ] || vfs_fail "hard link lost"
sync
free1=$(stat -f -c %f "$VFS_MNT")
[ "$free1" -lt "$free0" ] ||
	vfs_fail "statfs: free blocks $free0 -> $free1 after writing 15 MiB"
[ "$(stat -f -c %b "$VFS_MNT")" -gt 0 ] || vfs_fail "statfs: no blocks"

# rename across directories, over an existing file, of a directory; unlink
mv "$VFS_MNT/tree/a/f4097" "$VFS_MNT/tree/a/b/c/moved"
mv "$VFS_MNT/tree/a/f0" "$VFS_MNT/tree/a/f1"
mv "$VFS_MNT/tree/many" "$VFS_MNT/tree/renamed"
rm "$VFS_MNT/tree/a/f1000000" "$VFS_MNT/tree/renamed/m7"
rm -r "$VFS_MNT/tree/empty"
[ ! -e "$VFS_MNT/tree/a/f4097" ] || vfs_fail "rename left the old name"
[ -s "$VFS_MNT/tree/a/f1" ] && vfs_fail "rename over a file kept the old data"
echo "appended" >>"$VFS_MNT/tree/a/b/c/deep"
after=$(manifest "$VFS_MNT/tree")
vfs_stop_signal TERM
grep -q "unmounted, exiting" "$VFS_LOG" || vfs_fail "no clean exit logged"
fsck_clean "after SIGTERM"

# --- restart: everything is there ----------------------------------------------

serve
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] ||
	vfs_fail "the tree changed across the restart"
rm -r "$VFS_MNT/tree/renamed"
after=$(manifest "$VFS_MNT/tree")
vfs_stop
fsck_clean "after umount"

# --- SIGKILL: what was synced is there after the journal replay ---------------

serve
head -c 300000 /dev/urandom >"$VFS_TMP/synced"
cp "$VFS_TMP/synced" "$VFS_MNT/synced"
mkdir "$VFS_MNT/synced-dir"
# fsync and fsyncdir: over /dev/fuse the kernel sends no SYNCFS for sync(1)
sync "$VFS_MNT/synced" "$VFS_MNT"
kill -KILL "$VFS_PID"
wait "$VFS_PID" 2>/dev/null || true
VFS_PID=
for ((i = 0; i < 50; i++)); do
	stat "$VFS_MNT" >/dev/null 2>&1 || break
	sleep 0.1
done
fsck_clean "after SIGKILL, before the replay"
serve
cmp -s "$VFS_TMP/synced" "$VFS_MNT/synced" || vfs_fail "synced file lost"
[ -d "$VFS_MNT/synced-dir" ] || vfs_fail "synced directory lost"
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] ||
	vfs_fail "the tree changed across SIGKILL"
rm -r "$VFS_MNT/synced" "$VFS_MNT/synced-dir"
vfs_stop
fsck_clean "after the replay"

# --- read-only, and file systems that do not exist -----------------------------

serve --readonly
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] || vfs_fail "read-only view"
grep -q "'main', read-only" "$VFS_LOG" || vfs_fail "banner: not read-only"
if touch "$VFS_MNT/tree/new" 2>/dev/null; then
	vfs_fail "a read-only export took a new file"
fi
vfs_stop_signal INT

if "$VHOSTFSD" --image "$IMG" --export nope --fuse-mount "$VFS_MNT" \
	>"$VFS_TMP/nope.log" 2>&1; then
	vfs_fail "served a file system that does not exist"
fi
grep -q "no file system named 'nope'.*it has: main" "$VFS_TMP/nope.log" ||
	vfs_fail "--export nope: $(cat "$VFS_TMP/nope.log")"
vfs_is_mounted && vfs_fail "a failed start left a mount"

# --- vhost-user front-ends on the same image -----------------------------------

"$VHOSTFSD" --image "$IMG" --socket-path "$VFS_SOCK" --queues 2 \
	>>"$VFS_LOG" 2>&1 &
VFS_PID=$!
for ((i = 0; i < 200; i++)); do
	[ -S "$VFS_SOCK" ] && break
	kill -0 "$VFS_PID" 2>/dev/null || vfs_fail "vhostfsd exited at start"
	sleep 0.1
done
[ -S "$VFS_SOCK" ] || vfs_fail "no socket"
out=$VFS_TMP/bench.out
bench() {
	timeout -k 5 120 "$VHOSTFS" bench "$@" --socket "$VFS_SOCK" \
		--timeout 20 >"$out" 2>&1 ||
		{ cat "$out"; vfs_fail "vhostfs bench $*"; }
}
bench smoke
bench verify --size 8M --qd 8 --queues 2 --ops 4000
bench meta --files 200 --qd 4
vfs_vu_stop
fsck_clean "after vhost-user"

serve
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] ||
	vfs_fail "the tree changed under vhost-user front-ends"
vfs_stop
fsck_clean "after the vhost-user runs"

# --- a snapshot (served read-only) and a clone of it ----------------------------

vfs_run 30 "$VIMAGE_HELPER" snapshot "$IMG" main gold
vfs_run 30 "$VIMAGE_HELPER" clone "$IMG" gold dev
[ "$("$VIMAGE_HELPER" list "$IMG" | tr '\n' ' ')" = \
	"dev clone gold snapshot main clone " ] ||
	vfs_fail "catalog: $("$VIMAGE_HELPER" list "$IMG")"
if "$VHOSTFSD" --image "$IMG" --export gold --fuse-mount "$VFS_MNT" \
	>"$VFS_TMP/gold.log" 2>&1; then
	vfs_fail "a snapshot was served read-write"
fi
grep -q "snapshot.*--readonly" "$VFS_TMP/gold.log" ||
	vfs_fail "--export gold: $(cat "$VFS_TMP/gold.log")"
serve --export gold --readonly
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] || vfs_fail "snapshot content"
vfs_stop
serve --export dev
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] || vfs_fail "clone content"
echo "only in dev" >"$VFS_MNT/tree/dev-file"
rm "$VFS_MNT/tree/a/f3145728"
vfs_stop_signal TERM
serve
[ "$after" = "$(manifest "$VFS_MNT/tree")" ] ||
	vfs_fail "main changed when its clone's clone did"
vfs_stop
serve --export dev --readonly
[ "$(cat "$VFS_MNT/tree/dev-file")" = "only in dev" ] ||
	vfs_fail "the clone lost its change"
vfs_stop
fsck_clean "at the end"
vfs_log "PASS"
