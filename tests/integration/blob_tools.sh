#!/bin/bash
# SPDX-License-Identifier: MIT
# The blobstore tools on real sparse image files: vhostfs mkfs, dump and
# fsck (clean, a corrupted metadata page found then repaired, a truncated
# image, not a store), their bad-argument lines and exit statuses.  Blobs
# come from blob_populate (thick, thin, snapshot, clone, xattrs), which
# also checks their data after the repair.  The images are bare stores
# (mkfs --no-fs): the blobs are blob_populate's only.  No root needed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name vhostfs"
[ -x "${BLOB_POPULATE:-}" ] || vfs_skip "BLOB_POPULATE does not name blob_populate"
vfs_require_tools dd od truncate

IMG=$VFS_TMP/image
T=60 # seconds any one command may take

# expect STATUS STDERR-PATTERN command...: STDERR-PATTERN "" = stderr empty,
# else exactly one line matching it.  Output in $VFS_TMP/out and err.
expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	timeout -k 5 "$T" "$@" >"$VFS_TMP/out" 2>"$VFS_TMP/err" || rc=$?
	[ "$rc" -eq "$want" ] ||
		vfs_fail "'$*' exited $rc, want $want; stderr: $(cat "$VFS_TMP/err")"
	if [ -z "$pattern" ]; then
		[ ! -s "$VFS_TMP/err" ] ||
			vfs_fail "'$*' printed on stderr: $(cat "$VFS_TMP/err")"
		return 0
	fi
	[ "$(wc -l <"$VFS_TMP/err")" -eq 1 ] ||
		vfs_fail "'$*' printed $(wc -l <"$VFS_TMP/err") lines on stderr: $(cat "$VFS_TMP/err")"
	grep -q -- "$pattern" "$VFS_TMP/err" ||
		vfs_fail "'$*': stderr '$(cat "$VFS_TMP/err")' lacks '$pattern'"
}

out_has() {
	grep -q -- "$1" "$VFS_TMP/out" ||
		vfs_fail "output lacks '$1': $(cat "$VFS_TMP/out")"
}

# --- bad arguments: one line, exit 2 -----------------------------------------
expect 2 "no IMAGE given" "$VHOSTFS" mkfs --size 1G
expect 2 "--size '12Q'" "$VHOSTFS" mkfs "$IMG" --size 12Q
expect 2 "--cluster-size '3000'" "$VHOSTFS" mkfs "$IMG" --size 1G \
	--cluster-size 3000
expect 2 "--block-size '1024'" "$VHOSTFS" mkfs "$IMG" --size 1G \
	--block-size 1024
expect 2 "option '--size' needs a value" "$VHOSTFS" mkfs "$IMG" --size
expect 2 "unknown option '--bogus'" "$VHOSTFS" fsck --bogus "$IMG"
expect 2 "one IMAGE only" "$VHOSTFS" fsck "$IMG" "$IMG"
expect 2 "no IMAGE given" "$VHOSTFS" dump
expect 0 "" "$VHOSTFS" fsck --help
out_has "Exit status: 0 clean, 1 errors repaired, 4 errors left"
[ ! -e "$IMG" ] || vfs_fail "a bad command line created the image"
expect 1 "does not exist: give --size" "$VHOSTFS" mkfs "$IMG"

# --- mkfs: a sparse 1 GiB file ------------------------------------------------
expect 0 "" "$VHOSTFS" mkfs "$IMG" --size 1G --no-fs
out_has "formatted 1 GiB"
[ "$(stat -c %s "$IMG")" -eq $((1 << 30)) ] || vfs_fail "image size"
used=$(($(stat -c %b "$IMG") * $(stat -c %B "$IMG")))
[ "$used" -lt $((16 << 20)) ] || vfs_fail "image not sparse: $used bytes used"
expect 1 "already holds a vhostfs blobstore; use --force" \
	"$VHOSTFS" mkfs "$IMG" --size 1G
expect 1 "larger than --size" "$VHOSTFS" mkfs "$IMG" --size 512M --force
expect 0 "" "$VHOSTFS" mkfs "$IMG" --size 1G --no-fs --force \
	--cluster-size 256K
out_has "of 256 KiB"
expect 0 "" "$VHOSTFS" dump "$IMG"
out_has "blobs: 0"
expect 0 "" "$VHOSTFS" fsck "$IMG"
out_has "clean, 0 blobs"

# --- blobs, dump, clean fsck --------------------------------------------------
expect 0 "" "$BLOB_POPULATE" "$IMG"
declare -A ID
while read -r name id; do ID[$name]=$id; done <"$VFS_TMP/out"
[ "${#ID[@]}" -eq 4 ] || vfs_fail "blob_populate printed: $(cat "$VFS_TMP/out")"
expect 0 "" "$VHOSTFS" dump "$IMG"
cp "$VFS_TMP/out" "$VFS_TMP/dump"
out_has "blobs: 4"
out_has "blob ${ID[a]}: 4 clusters, 4 allocated"
out_has "xattr user \"name\" (5 bytes) = \"alpha\""
out_has "xattr internal \"fs.kind\" (4 bytes) = 010203ff"
out_has "blob ${ID[s]}: .*snapshot.*2 children"
out_has "blob ${ID[c]}: 8 clusters, 0 allocated, thin, parent ${ID[s]}"
expect 0 "" "$VHOSTFS" fsck "$IMG"
out_has "clean, 4 blobs"
for b in a b s c; do
	expect 0 "" "$BLOB_POPULATE" "$IMG" --verify "${ID[$b]}"
done

# --- a corrupt metadata page: found (4), repaired (1), clean again (0) -------
md_start=$(sed -n 's/.*, md \([0-9]*\)+.*/\1/p' "$VFS_TMP/dump")
[ -n "$md_start" ] || vfs_fail "no md region in dump: $(cat "$VFS_TMP/dump")"
root=$((${ID[a]} & 0xffffffff))
at=$(((md_start + root) * 4096 + 100)) # a byte of the record, past the header
old=$(od -An -tu1 -j "$at" -N1 "$IMG" | tr -d ' ')
printf "\\$(printf '%03o' $((old ^ 0xff)))" |
	dd of="$IMG" bs=1 seek="$at" conv=notrunc status=none
expect 4 "" "$VHOSTFS" fsck "$IMG"
out_has "problems* found, 0 repaired (run with --repair to fix)"
out_has "root page $root: md page $root: bad header or CRC"
out_has "errors left"
expect 0 "" "$VHOSTFS" dump "$IMG"
out_has "corrupt"
expect 1 "" "$VHOSTFS" fsck --repair "$IMG"
out_has "repaired"
expect 0 "" "$VHOSTFS" fsck "$IMG"
out_has "clean, 3 blobs"
for b in b s c; do
	expect 0 "" "$BLOB_POPULATE" "$IMG" --verify "${ID[$b]}"
done
expect 0 "" "$VHOSTFS" dump "$IMG"
grep -q "blob ${ID[a]}" "$VFS_TMP/out" && vfs_fail "the broken blob is still listed"

# --- 512-byte blocks, small clusters ------------------------------------------
IMG2=$VFS_TMP/image512
expect 0 "" "$VHOSTFS" mkfs "$IMG2" --size 64M --no-fs --block-size 512 \
	--cluster-size 64K --md-pages 256
out_has "io unit 512 bytes"
expect 0 "" "$BLOB_POPULATE" "$IMG2"
expect 0 "" "$VHOSTFS" fsck "$IMG2"
out_has "clean, 4 blobs"

# --- progress: a single updating line on a terminal, nothing otherwise ------
IMG3=$VFS_TMP/many
expect 0 "" "$VHOSTFS" mkfs "$IMG3" --size 2G --no-fs --cluster-size 64K -q
expect 0 "" "$BLOB_POPULATE" "$IMG3" --many 20000
expect 0 "" "$VHOSTFS" fsck "$IMG3" # stderr is a file: no progress
out_has "clean, 20000 blobs"
# The line appears after half a second: only a check that took a second
# must have shown it, and cleared it before the summary.
if command -v script >/dev/null; then
	start=$(date +%s%N)
	timeout -k 5 "$T" script -qec "$VHOSTFS fsck $IMG3" /dev/null \
		>"$VFS_TMP/tty" || vfs_fail "fsck on a terminal failed"
	grep -aq "clean, 20000 blobs" "$VFS_TMP/tty" || vfs_fail "fsck on a tty"
	if [ $((($(date +%s%N) - start) / 1000000)) -ge 1000 ]; then
		grep -aq $'\r\e\[Kvhostfs fsck: checking: .* MiB (.*%)' \
			"$VFS_TMP/tty" || vfs_fail "no progress line on a tty"
		grep -aq $'\r\e\[K.*clean, 20000 blobs' "$VFS_TMP/tty" ||
			vfs_fail "progress line not cleared before the summary"
	fi
fi
rm -f "$IMG3"

# --- a store left dirty: its writer is SIGKILLed while creating blobs -------
expect 0 "" "$VHOSTFS" mkfs "$IMG3" --size 1G --no-fs --cluster-size 64K -q
rc=0
timeout -s KILL 0.7 "$BLOB_POPULATE" "$IMG3" --many 50000 >/dev/null 2>&1 ||
	rc=$?
# The killed writer's io_uring is torn down after it exits, and holds the
# image (and its lock) until then: wait for the lock, up to 10 s.
if command -v flock >/dev/null; then
	flock -w 10 "$IMG3" true || vfs_fail "the killed writer's lock stays"
fi
expect 0 "" "$VHOSTFS" fsck "$IMG3"
# Killed mid-run, the store is normally dirty and fsck replays its journal;
# on a loaded machine the writer may be killed before its first commit, and
# then the store is simply clean.  Either way it must check clean (above).
if [ "$rc" -eq 137 ]; then
	out_has "clean, .*journal replayed\|clean, "
fi
expect 0 "" "$VHOSTFS" dump "$IMG3"
out_has "dirty (journal replayed)\|clean, uuid"
expect 0 "" "$VHOSTFS" fsck --repair "$IMG3" # replays and checkpoints
expect 0 "" "$VHOSTFS" fsck "$IMG3"
grep -q "journal replayed" "$VFS_TMP/out" && vfs_fail "still dirty after a load"
rm -f "$IMG3"

# --- a truncated image, not a store, no image ----------------------------------
truncate -s 32M "$IMG2"
expect 4 "truncated: 32 MiB, but the store needs 64 MiB" "$VHOSTFS" fsck "$IMG2"
expect 1 "truncated" "$VHOSTFS" dump "$IMG2"
truncate -s 64M "$IMG2"
expect 0 "" "$VHOSTFS" fsck "$IMG2" # metadata intact (data past 32M: zeros)
truncate -s 4K "$IMG2"
expect 4 "truncated" "$VHOSTFS" fsck "$IMG2"
truncate -s 0 "$IMG2"
truncate -s 16M "$IMG2"
expect 8 "not a vhostfs blobstore" "$VHOSTFS" fsck "$IMG2"
expect 1 "not a vhostfs blobstore" "$VHOSTFS" dump "$IMG2"
expect 8 "No such file" "$VHOSTFS" fsck "$VFS_TMP/missing"
expect 1 "too small" "$VHOSTFS" mkfs "$VFS_TMP/tiny" --size 64K
[ ! -e "$VFS_TMP/tiny" ] || vfs_fail "a failed mkfs left the file it created"
vfs_log "PASS"
