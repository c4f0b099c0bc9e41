#!/bin/sh
# shellcheck disable=SC2317 # check functions are called indirectly
# Guest-side workload for the virtio-fs end-to-end test.  Runs under the
# test guest's busybox sh (no bash, no coreutils) with /bin/vhostfs-helper
# (tests/guest/guest_helper.c) for the calls busybox lacks.
#
# It exercises the FUSE operations a real guest uses through the back-end:
# lookup/getattr, create/read/write/append/truncate, readdir(plus) of a big
# directory, rename/rename2, symlink/readlink, link, unlink/rmdir,
# chmod/chown/utimens, mknod (fifo), fallocate, fsync/fdatasync/syncfs,
# xattrs, O_DIRECT with unaligned buffers, shared mmap, large files, a tar
# round trip, parallel writers (spread over request queues on 6.12), a few
# thousand files unpacked and checksummed, and fio with verification.
#
# Everything goes under $VHOSTFS_MNT/out so that the host can check the
# tree afterwards (tests/guest/e2e-virtiofsd.sh): out/RESULTS has one
# PASS/FAIL/SKIP line per check, out/MANIFEST.sha256 the checksums of every
# regular file as the guest reads them back after dropping its page cache.
# Files the host prepared under in/ are checked from the guest side.
# Optional settings: $VHOSTFS_MNT/.guest/config (sh): REQUIRE_XATTR=1,
# REQUIRE_FIO=1 (fail instead of skip when $VHOSTFS_MNT/.guest/fio, the
# host's fio with its libraries, is missing).
# Exit status: the number of failed checks (0 = all passed).

M=${VHOSTFS_MNT:-/mnt}
O=$M/out
IN=$M/in
H=/bin/vhostfs-helper
REQUIRE_XATTR=0
REQUIRE_FIO=0
LARGE_MB=16
FIO=$M/.guest/fio
[ -f "$M/.guest/config" ] && . "$M/.guest/config"

fails=0
started=$(cut -d' ' -f1 /proc/uptime)

record() {
	echo "$*" >>"$O/RESULTS"
	echo "workload: $*"
}

# check NAME FUNCTION: run one check; its output becomes the failure detail.
# Each line also says how long the check took (guest seconds, TCG).
check() {
	t0=$(cut -d' ' -f1 /proc/uptime)
	out=$("$2" 2>&1)
	rc=$?
	took=$(elapsed "$t0")
	if [ "$rc" -eq 0 ]; then
		record "PASS $1 ${took}s"
	elif [ "${out##*SKIP}" = "" ]; then
		# The check ended with "SKIP": an optional feature not served.
		record "SKIP $1: $(echo "${out%SKIP}" | tr '\n' ' ')"
	else
		record "FAIL $1 ${took}s: $(echo "$out" | tr '\n' ' ')"
		fails=$((fails + 1))
	fi
}

# elapsed START: seconds since START (a /proc/uptime reading).
elapsed() {
	awk -v s="$1" '{ printf "%.2f", $1 - s }' /proc/uptime
}

# eq ACTUAL EXPECTED WHAT: fail the current check when they differ.
eq() {
	[ "$1" = "$2" ] && return 0
	echo "$3: got '$1', want '$2'"
	return 1
}

# Drop the guest's page cache so that reads go to the back-end again.
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# The host wrote in/ before boot: plain file, 4 MiB random file with its
# checksum, symlink, two hard links, a deep path.
check_host_files() {
	eq "$(cat "$IN/hello.txt")" "hello from host" "in/hello.txt" || return 1
	(cd "$IN" && sha256sum -c -s big.sha256) || { echo "in/big.bin checksum"; return 1; }
	eq "$(readlink "$IN/link")" "hello.txt" "readlink in/link" || return 1
	eq "$(cat "$IN/link")" "hello from host" "cat in/link" || return 1
	eq "$(stat -c %h "$IN/hard1")" 2 "nlink in/hard1" || return 1
	eq "$(stat -c %i "$IN/hard1")" "$(stat -c %i "$IN/hard2")" "inode hard1/hard2" || return 1
	eq "$(cat "$IN/deep/a/b/c/leaf")" "leaf" "deep path" || return 1
}

# 200 small files: CREATE+WRITE each, then a READDIR(PLUS) of the lot.
check_small_files() {
	mkdir "$O/small" || return 1
	i=1
	while [ "$i" -le 200 ]; do
		echo "file $i" >"$O/small/f$i" || return 1
		i=$((i + 1))
	done
	eq "$(ls "$O/small" | wc -l)" 200 "ls count" || return 1
	eq "$(ls -l "$O/small" | grep -c '^-')" 200 "ls -l count" || return 1
	drop_caches
	i=1
	while [ "$i" -le 200 ]; do
		eq "$(cat "$O/small/f$i")" "file $i" "small/f$i" || return 1
		i=$((i + 1))
	done
}

check_overwrite_truncate() {
	f=$O/edit.txt
	echo first >"$f" && echo second >>"$f" || return 1
	eq "$(cat "$f")" "$(printf 'first\nsecond')" "append" || return 1
	echo replaced >"$f" || return 1
	eq "$(cat "$f")" "replaced" "overwrite" || return 1
	truncate -s 3 "$f" && eq "$(cat "$f")" "rep" "truncate down" || return 1
	truncate -s 10000 "$f" && eq "$(stat -c %s "$f")" 10000 "truncate up" || return 1
	# Write into the middle without truncating (dd conv=notrunc).
	printf XY | dd of="$f" bs=1 seek=1 conv=notrunc 2>/dev/null || return 1
	drop_caches
	eq "$(head -c 3 "$f")" "rXY" "pwrite middle after drop_caches" || return 1
	eq "$(stat -c %s "$f")" 10000 "size after pwrite" || return 1
}

# rename of a file, over an existing file, of a non-empty directory, and
# renameat2 NOREPLACE (must fail on an existing target) and EXCHANGE.
check_rename() {
	echo one >"$O/ren_a" && echo two >"$O/ren_b" || return 1
	mv "$O/ren_a" "$O/renamed" || return 1
	[ ! -e "$O/ren_a" ] || { echo "ren_a still exists"; return 1; }
	mv -f "$O/ren_b" "$O/renamed" || return 1
	eq "$(cat "$O/renamed")" two "rename over existing" || return 1
	mkdir -p "$O/rdir/sub" && echo x >"$O/rdir/sub/x" || return 1
	mv "$O/rdir" "$O/rdir2" && eq "$(cat "$O/rdir2/sub/x")" x "dir rename" || return 1
	echo A >"$O/xa" && echo B >"$O/xb" || return 1
	if $H rename2 "$O/xa" "$O/xb" noreplace 2>/dev/null; then
		echo "RENAME_NOREPLACE replaced an existing file"
		return 1
	fi
	$H rename2 "$O/xa" "$O/xb" exchange; rc=$?
	[ "$rc" -eq 3 ] && return 0 # back-end without RENAME_EXCHANGE: allowed
	[ "$rc" -eq 0 ] || return 1
	eq "$(cat "$O/xa")$(cat "$O/xb")" BA "RENAME_EXCHANGE" || return 1
}

check_symlinks() {
	ln -s small/f1 "$O/sym_rel" || return 1
	ln -s /mnt/out/small/f2 "$O/sym_abs" || return 1
	ln -s does-not-exist "$O/dangling" || return 1
	eq "$(readlink "$O/sym_rel")" small/f1 "readlink sym_rel" || return 1
	eq "$(cat "$O/sym_rel")" "file 1" "read via sym_rel" || return 1
	eq "$(readlink "$O/dangling")" does-not-exist "readlink dangling" || return 1
	[ -L "$O/dangling" ] && [ ! -e "$O/dangling" ] || { echo "dangling link state"; return 1; }
}

check_hardlinks() {
	echo linked >"$O/hard_a" || return 1
	ln "$O/hard_a" "$O/hard_b" && ln "$O/hard_a" "$O/hard_c" || return 1
	eq "$(stat -c %h "$O/hard_a")" 3 "nlink after 2 links" || return 1
	rm "$O/hard_c" || return 1
	eq "$(stat -c %h "$O/hard_b")" 2 "nlink after unlink" || return 1
	eq "$(stat -c %i "$O/hard_a")" "$(stat -c %i "$O/hard_b")" "same inode" || return 1
	echo more >>"$O/hard_b" || return 1
	eq "$(cat "$O/hard_a")" "$(printf 'linked\nmore')" "write via other link" || return 1
}

check_unlink_rmdir() {
	echo bye >"$O/gone" && mkdir -p "$O/gone_dir/sub" || return 1
	rm "$O/gone" && rmdir "$O/gone_dir/sub" "$O/gone_dir" || return 1
	[ ! -e "$O/gone" ] && [ ! -e "$O/gone_dir" ] || { echo "still there"; return 1; }
	mkdir "$O/notempty" && touch "$O/notempty/f" || return 1
	if rmdir "$O/notempty" 2>/dev/null; then
		echo "rmdir of a non-empty directory succeeded"
		return 1
	fi
}

# SETATTR: mode, owner (the guest is root), times; MKNOD of a fifo.
check_setattr_mknod() {
	echo m >"$O/mode.txt" && chmod 640 "$O/mode.txt" || return 1
	eq "$(stat -c %a "$O/mode.txt")" 640 "chmod" || return 1
	echo o >"$O/owned.txt" && chown 1234:5678 "$O/owned.txt" || return 1
	eq "$(stat -c %u:%g "$O/owned.txt")" 1234:5678 "chown" || return 1
	echo t >"$O/time.txt" && touch -d '2001-02-03 04:05:06' "$O/time.txt" || return 1
	eq "$(stat -c %Y "$O/time.txt")" 981173106 "utimens" || return 1
	mkfifo "$O/fifo" && [ -p "$O/fifo" ] || { echo "mkfifo"; return 1; }
}

# FALLOCATE and a sparse file (write far past EOF, read the hole back).
check_fallocate_sparse() {
	fallocate -l 1048576 "$O/falloc" || return 1
	eq "$(stat -c %s "$O/falloc")" 1048576 "fallocate size" || return 1
	echo end | dd of="$O/sparse" bs=1M seek=16 conv=notrunc 2>/dev/null || return 1
	eq "$(stat -c %s "$O/sparse")" $((16 * 1048576 + 4)) "sparse size" || return 1
	eq "$(dd if="$O/sparse" bs=4096 skip=1000 count=1 2>/dev/null | tr -d '\000' | wc -c)" 0 "hole reads zeros" || return 1
}

# make_data FILE MB: MB distinct MiB blocks (random data, each block starts
# with its index, so a block landing at the wrong offset changes the
# checksum).  /dev/urandom is slow under TCG; one random MiB is enough.
make_data() {
	dd if=/dev/urandom of=/tmp/rand.1m bs=1M count=1 2>/dev/null || return 1
	n=0
	while [ "$n" -lt "$2" ]; do
		printf 'block %08d' "$n"
		cat /tmp/rand.1m
		n=$((n + 1))
	done >"$1"
	rm -f /tmp/rand.1m
}

# A large file in 1 MiB writes (max-size WRITE requests), fsync, then read
# back from the back-end (page cache dropped); the host checks it too.
check_large_file() {
	make_data /tmp/large.bin "$LARGE_MB" || return 1
	sum=$(sha256sum </tmp/large.bin | cut -d' ' -f1)
	dd if=/tmp/large.bin of="$O/large.bin" bs=1M 2>/dev/null || return 1
	rm -f /tmp/large.bin
	sync "$O/large.bin" || { echo "fsync"; return 1; }
	echo "$sum  large.bin" >"$O/large.sha256"
	drop_caches
	eq "$(sha256sum <"$O/large.bin" | cut -d' ' -f1)" "$sum" "large.bin read back" || return 1
	# Small reads at odd offsets as well as the big sequential ones.
	eq "$(dd if="$O/large.bin" bs=4097 skip=777 count=3 2>/dev/null | wc -c)" 12291 "odd-size reads" || return 1
}

# fsync, fdatasync and syncfs (busybox sync FILE / -d / -f).
check_sync() {
	echo durable >"$O/durable.txt" || return 1
	sync "$O/durable.txt" || { echo "fsync"; return 1; }
	sync -d "$O/durable.txt" || { echo "fdatasync"; return 1; }
	sync -f "$O/durable.txt" || { echo "syncfs"; return 1; }
	sync "$O" || { echo "fsync of a directory"; return 1; }
}

# tar a tree (files, nested dirs, symlink, hard link) and unpack a copy.
check_tar() {
	t=$O/tree
	mkdir -p "$t/a/b" "$t/c" || return 1
	i=0
	while [ "$i" -lt 20 ]; do
		echo "tree $i" >"$t/a/b/n$i" && seq 1 $((i * 50)) >"$t/c/s$i" || return 1
		i=$((i + 1))
	done
	ln -s ../a/b/n1 "$t/c/link" && ln "$t/a/b/n2" "$t/hard" || return 1
	tar -cf "$O/tree.tar" -C "$O" tree || return 1
	mkdir "$O/untar" && tar -xf "$O/tree.tar" -C "$O/untar" || return 1
	drop_caches
	diff -r "$t" "$O/untar/tree" || return 1
	eq "$(readlink "$O/untar/tree/c/link")" ../a/b/n1 "untarred symlink" || return 1
	eq "$(stat -c %h "$O/untar/tree/hard")" 2 "untarred hard link" || return 1
}

check_xattr() {
	f=$O/xattr.txt
	echo x >"$f" || return 1
	$H setxattr "$f" user.guest guest-value; rc=$?
	if [ "$rc" -eq 3 ] && [ "$REQUIRE_XATTR" != 1 ]; then
		echo SKIP
		return 1
	fi
	[ "$rc" -eq 0 ] || return 1
	eq "$($H getxattr "$f" user.guest)" guest-value "getxattr" || return 1
	$H setxattr "$f" user.tmp temp || return 1
	$H listxattr "$f" | grep -qx user.tmp || { echo "listxattr lacks user.tmp"; return 1; }
	$H removexattr "$f" user.tmp || return 1
	if $H getxattr "$f" user.tmp 2>/dev/null; then
		echo "user.tmp still there"
		return 1
	fi
	eq "$($H getxattr "$IN/xattr.txt" user.host 2>&1)" host-value "host's xattr" || return 1
}

# O_DIRECT with mid-page buffers, and shared writable mmap.
check_direct_mmap() {
	$H direct "$O/direct.bin" || return 1
	$H mmapwrite "$O/mmap.bin" || return 1
	drop_caches
	$H checkpattern "$O/direct.bin" 5 $((3 * 4096 + 17)) || return 1
	$H checkpattern "$O/mmap.bin" 0 $((5 * 4096 + 123)) || return 1
}

# Four writers and four metadata loops at once: concurrent requests (and,
# with a 6.12 guest and several vCPUs, several request queues).
parallel_writer() {
	dd if=/tmp/par.src of="$O/par/w$1" bs=64k 2>/dev/null &&
		cmp /tmp/par.src "$O/par/w$1" && echo ok >"/tmp/par.ok$1"
}

parallel_meta() {
	d=$O/par/m$1
	mkdir "$d" || return
	i=0
	while [ "$i" -lt 30 ]; do
		echo "$i" >"$d/f$i" && mv "$d/f$i" "$d/g$i" && rm "$d/g$i" || return
		i=$((i + 1))
	done
	echo keep >"$d/kept" && echo ok >"/tmp/par.meta$1"
}

check_parallel() {
	mkdir "$O/par" || return 1
	make_data /tmp/par.src 2 || return 1
	rm -f /tmp/par.ok* /tmp/par.meta*
	for n in 1 2 3 4; do
		parallel_writer "$n" &
		parallel_meta "$n" &
	done
	wait
	for n in 1 2 3 4; do
		[ -f "/tmp/par.ok$n" ] || { echo "writer $n failed"; return 1; }
		[ -f "/tmp/par.meta$n" ] || { echo "metadata loop $n failed"; return 1; }
		eq "$(ls "$O/par/m$n")" kept "metadata loop $n leftovers" || return 1
	done
	rm -f /tmp/par.src
}

# What the guest reads back for every regular file, for the host to compare.
# The large file has its own checksum and the sparse one is mostly a hole:
# hashing them again would only cost TCG time.
write_manifest() {
	drop_caches
	(cd "$O" && find . -path ./many -prune -o -type f ! -name RESULTS \
		! -name MANIFEST.sha256 ! -name large.bin ! -name sparse -print |
		sort | xargs sha256sum >MANIFEST.sha256)
}

# The host packed a few thousand small files (in/many.tar) with their
# checksums (in/many.sha256): unpack them in one tar process, then check
# every file as read back through the share with the page cache dropped.
check_untar_many() {
	[ -f "$IN/many.tar" ] || { echo "no in/many.tar from the host"; return 1; }
	tar -xf "$IN/many.tar" -C "$O" || return 1
	eq "$(find "$O/many" -type f | wc -l)" "$(wc -l <"$IN/many.sha256")" "file count" || return 1
	drop_caches
	(cd "$O" && sha256sum -c -s "$IN/many.sha256") || { echo "checksums differ"; return 1; }
}

# fio with verification, run from the share itself: the host copied its
# fio and every library it links to .guest/fio (the initramfs has no libc).
# Two jobs at once: O_DIRECT 4k random writes with libaio at depth 8, and
# buffered 64k sequential writes; each verifies what it wrote.
run_fio() {
	"$FIO/ld.so" --library-path "$FIO/lib" "$FIO/fio" "$@"
}

check_fio() {
	if [ ! -x "$FIO/fio" ]; then
		echo "no fio in .guest/fio"
		[ "$REQUIRE_FIO" = 1 ] && return 1
		echo SKIP
		return 1
	fi
	mkdir "$O/fio" || return 1
	run_fio --directory="$O/fio" --verify_fatal=1 --do_verify=1 \
		--name=direct --rw=randwrite --bs=4k --size=4M --ioengine=libaio \
		--iodepth=8 --direct=1 --verify=crc32c \
		--name=buffered --rw=write --bs=64k --size=8M --ioengine=psync \
		--verify=md5 >/tmp/fio.out 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || { tail -n 20 /tmp/fio.out; return 1; }
	grep -q 'err= 0' /tmp/fio.out || { tail -n 20 /tmp/fio.out; return 1; }
	rm -rf "$O/fio"
}

check_statfs() {
	stat -f "$M" >/dev/null || return 1
	df "$M" >/dev/null || return 1
}

main() {
	rm -rf "$O" && mkdir "$O" || { echo "workload: cannot create $O"; exit 1; }
	: >"$O/RESULTS"
	check host_files check_host_files
	check small_files check_small_files
	check overwrite_truncate check_overwrite_truncate
	check rename check_rename
	check symlinks check_symlinks
	check hardlinks check_hardlinks
	check unlink_rmdir check_unlink_rmdir
	check setattr_mknod check_setattr_mknod
	check fallocate_sparse check_fallocate_sparse
	check large_file check_large_file
	check sync check_sync
	check tar check_tar
	check xattr check_xattr
	check direct_mmap check_direct_mmap
	check parallel check_parallel
	check untar_many check_untar_many
	check fio check_fio
	check statfs check_statfs
	check manifest write_manifest
	record "DONE failed=$fails seconds=$(elapsed "$started")"
	exit "$fails"
}

main
