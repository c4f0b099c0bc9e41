#!/bin/bash
# SPDX-License-Identifier: MIT
# fio writes with checksums and reads them back (psync and io_uring), small
# and time-bounded; every job must verify cleanly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools fio
vfs_start

# name engine rw bs iodepth extra...
job() {
	local name=$1 engine=$2 rw=$3 bs=$4 qd=$5
	shift 5
	vfs_log "fio $name"
	vfs_run 120 fio --name="$name" --directory="$VFS_MNT" \
		--filename="$name.dat" --size=16m --ioengine="$engine" \
		--iodepth="$qd" --rw="$rw" --bs="$bs" --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --runtime=30 \
		--output="$VFS_TMP/$name.out" "$@"
	grep -q "err= 0" "$VFS_TMP/$name.out" || {
		cat "$VFS_TMP/$name.out"
		vfs_fail "fio $name reported errors"
	}
}

job psync-seq psync write 128k 1
job psync-rand psync randwrite 4k 1
job uring-rand io_uring randwrite 4k 16
job uring-seq io_uring write 1m 4
job uring-direct io_uring randrw 4k 8 --direct=1 --verify_backlog=256
job psync-mixed psync randrw 16k 1 --rwmixread=50 --verify_backlog=64

# four writers at once, 64 KiB writes of one odd-sized file each (an image
# once lost track of one of them: its reads never completed); read back
# from the back-end itself
head -c $((2 * 1024 * 1024 + 28)) /dev/urandom >"$VFS_TMP/par.src"
mkdir "$VFS_MNT/par"
pids=()
for n in 1 2 3 4; do
	dd if="$VFS_TMP/par.src" of="$VFS_MNT/par/w$n" bs=64k status=none &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || vfs_fail "a parallel writer failed"; done
vfs_view_live
for n in 1 2 3 4; do
	vfs_run 30 cmp "$VFS_TMP/par.src" "$VFS_VIEW/par/w$n"
	vfs_run 30 cmp "$VFS_TMP/par.src" "$VFS_MNT/par/w$n"
done
rm -rf "$VFS_MNT/par"

# a second pass reads what the first wrote, after the client's cache is gone
{ echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || true
vfs_run 120 fio --name=reread --directory="$VFS_MNT" \
	--filename=uring-rand.dat --size=16m --ioengine=io_uring \
	--iodepth=16 --rw=randwrite --bs=4k --verify=crc32c --verify_only \
	--verify_fatal=1 --output="$VFS_TMP/reread.out"
grep -q "err= 0" "$VFS_TMP/reread.out" || vfs_fail "verify-only pass"

vfs_stop
vfs_log "PASS"
