#!/bin/bash
# SPDX-License-Identifier: MIT
# The file-system tools on a real image file: vhostfs mkfs (with the file
# system main), import of a tree with every kind of file (hard links,
# symlinks, FIFO, socket, device nodes, sparse, 0-byte, 1-byte and 5 MiB
# files, suid/sgid/sticky bits, odd owners, nanosecond times, user and
# trusted xattrs, POSIX ACLs), export to another directory compared field
# by field with the original (python3), ls and cat, snapshot then change
# the volume, clone the snapshot, export both, volumes and delete, fsck
# clean after each step and 4 on a destroyed file system, export refusing
# to write through a host symlink, and the usage errors.  Needs root
# (mknod, chown).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name vhostfs"
[ "$(id -u)" -eq 0 ] || vfs_skip "needs root (mknod, chown)"
vfs_require_tools python3 mkfifo mknod truncate setfattr cmp

IMG=$VFS_TMP/image
SRC=$VFS_TMP/src
T=120 # seconds any one command may take

# expect STATUS STDERR-PATTERN command...: STDERR-PATTERN "" = stderr empty
# but for lines saying "warning:", else one line (besides warnings)
# matching it.  Output in $VFS_TMP/out and err.
expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	timeout -k 5 "$T" "$@" >"$VFS_TMP/out" 2>"$VFS_TMP/err" || rc=$?
	[ "$rc" -eq "$want" ] ||
		vfs_fail "'$*' exited $rc, want $want; stderr: $(cat "$VFS_TMP/err")"
	grep -v "warning:" "$VFS_TMP/err" >"$VFS_TMP/err.real" || true
	if [ -z "$pattern" ]; then
		[ ! -s "$VFS_TMP/err.real" ] ||
			vfs_fail "'$*' printed on stderr: $(cat "$VFS_TMP/err")"
		return 0
	fi
	[ "$(wc -l <"$VFS_TMP/err.real")" -eq 1 ] ||
		vfs_fail "'$*' printed $(wc -l <"$VFS_TMP/err.real") lines on stderr: $(cat "$VFS_TMP/err")"
	grep -q -- "$pattern" "$VFS_TMP/err.real" ||
		vfs_fail "'$*': stderr '$(cat "$VFS_TMP/err")' lacks '$pattern'"
}

out_has() {
	grep -q -- "$1" "$VFS_TMP/out" ||
		vfs_fail "output lacks '$1': $(cat "$VFS_TMP/out")"
}

fsck_clean() {
	expect 0 "" "$VHOSTFS" fsck "$IMG"
	out_has "$IMG: clean"
	grep -q "errors left\|problem" "$VFS_TMP/out" &&
		vfs_fail "fsck ($1): $(cat "$VFS_TMP/out")"
	out_has "file system 'main': clean"
}

# --- the comparator: one line per entry, every field that must survive ------
cat >"$VFS_TMP/tree.py" <<'EOF'
import hashlib, os, stat, sys

def xattrs(p):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError:
        return []
    copied = ("user.", "trusted.", "security.", "system.posix_acl_")
    return sorted("%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex())
                  for n in names if n.startswith(copied))

def digest(p):
    fd = os.open(p, os.O_RDONLY | os.O_NOATIME | os.O_NOFOLLOW)
    h = hashlib.sha256()
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        h.update(b)
    os.close(fd)
    return h.hexdigest()

def line(top, rel, st, with_x):
    p = os.path.join(top, rel)
    m = st.st_mode
    f = [rel or ".", "%o" % stat.S_IFMT(m), "%04o" % stat.S_IMODE(m),
         str(st.st_uid), str(st.st_gid), "m" + str(st.st_mtime_ns)]
    if stat.S_ISREG(m):
        # a directory's or symlink's atime moves when it is read
        f += ["a" + str(st.st_atime_ns), str(st.st_size), digest(p)]
    elif stat.S_ISLNK(m):
        f += ["->" + os.readlink(p)]
    elif stat.S_ISCHR(m) or stat.S_ISBLK(m):
        f += ["a" + str(st.st_atime_ns), "dev%d:%d" % (os.major(st.st_rdev),
                                                    os.minor(st.st_rdev))]
    elif not stat.S_ISDIR(m):
        f += ["a" + str(st.st_atime_ns)]
    if not stat.S_ISDIR(m):
        f += ["n" + str(st.st_nlink)]
    if with_x and not stat.S_ISLNK(m):
        f += xattrs(p)
    return " ".join(f)

def walk(top, with_x):
    out, inodes = [], {}
    # each directory's stat is taken before it is listed
    todo = [("", os.lstat(top))]
    while todo:
        rel, st = todo.pop()
        out.append(line(top, rel, st, with_x))
        if not stat.S_ISDIR(st.st_mode):
            inodes.setdefault(st.st_ino, []).append(rel)
            continue
        for name in sorted(os.listdir(os.path.join(top, rel))):
            crel = os.path.join(rel, name)
            todo.append((crel, os.lstat(os.path.join(top, crel))))
    out.sort()
    out += sorted("links " + " ".join(sorted(v)) for v in inodes.values()
                  if len(v) > 1)
    return out

top, with_x = sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "x"
print("\n".join(walk(top, with_x)))
EOF

# snapshot DIR FILE: the comparator's lines for DIR
snapshot() {
	python3 "$VFS_TMP/tree.py" "$1" "$XATTRS" >"$2" ||
		vfs_fail "comparator failed on $1"
}

same_tree() { # EXPECTED-LINES DIR
	snapshot "$2" "$VFS_TMP/got"
	diff -u "$1" "$VFS_TMP/got" >"$VFS_TMP/diff" ||
		vfs_fail "$2 differs from what was imported: $(head -40 "$VFS_TMP/diff")"
}

# --- a tree with every kind of file --------------------------------------------
NS1='2001-02-03 04:05:06.123456789'
NS2='2019-12-31 23:59:59.999999999'
make_tree() {
	local d=$1
	mkdir -p "$d/dir/sub/deep" "$d/sticky" "$d/sgid dir" "$d/empty dir"
	: >"$d/zero"
	printf 1 >"$d/one"
	head -c $((5 << 20)) /dev/urandom >"$d/big"
	truncate -s 64M "$d/sparse"
	echo start | dd of="$d/sparse" bs=1 seek=$((1 << 20)) conv=notrunc status=none
	echo middle | dd of="$d/sparse" bs=1 seek=$((40 << 20)) conv=notrunc status=none
	head -c 3000 /dev/urandom >"$d/dir/sub/inline-edge"
	echo "hard" >"$d/hard"
	ln "$d/hard" "$d/dir/hard2"
	ln "$d/hard" "$d/dir/sub/deep/hard3"
	echo "pair" >"$d/dir/pair1"
	ln "$d/dir/pair1" "$d/pair2"
	ln -s ../hard "$d/dir/rel-link"
	ln -s /nonexistent/absolute "$d/abs-link"
	ln -s "$(printf 'x%.0s' $(seq 300))" "$d/long-link"
	ln -s dir/sub "$d/dir-link"
	mkfifo "$d/fifo"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$d/socket"
	mknod "$d/null-dev" c 1 3
	mknod "$d/loop-dev" b 7 200
	echo "-dash" >"$d/-dash name"
	echo "utf8" >"$d/héllo wörld"
	echo suid >"$d/suid"
	chmod 4755 "$d/suid"
	echo sgid >"$d/sgid"
	chmod 2711 "$d/sgid"
	chmod 1777 "$d/sticky"
	chmod 2755 "$d/sgid dir"
	echo odd >"$d/odd-owner"
	chown 4242:4343 "$d/odd-owner" "$d/dir/sub" "$d/fifo"
	chown -h 777:888 "$d/dir/rel-link"
	chmod 0000 "$d/dir/pair1"
	chmod 0640 "$d/one"
	setfattr -n user.color -v blue "$d/one"
	setfattr -n user.empty "$d/zero"
	setfattr -n user.bin -v 0x00ff10 "$d/dir"
	setfattr -n trusted.t -v secret "$d/big"
	if command -v setfacl >/dev/null; then
		echo acl >"$d/acl"
		setfacl -m u:1234:rw,g:99:r "$d/acl"
		setfacl -d -m u:1234:rwx "$d/sticky"
	fi
	touch -d "$NS1" "$d/one" "$d/big" "$d/fifo" "$d/null-dev"
	touch -a -d "$NS2" "$d/one" "$d/sparse"
	touch -h -d "$NS1" "$d/abs-link"
	# directories last: making entries changed their mtimes
	touch -d "$NS2" "$d/dir/sub/deep" "$d/dir/sub" "$d/dir" "$d/sticky" "$d"
}

make_tree "$SRC"
# Reading a directory or a symlink may move its atime once (relatime):
# settle that before anything is recorded.
python3 "$VFS_TMP/tree.py" "$SRC" >/dev/null

# --- bad arguments: one line, exit 2 --------------------------------------------
expect 2 "no IMAGE given" "$VHOSTFS" import
expect 2 "no HOSTDIR given" "$VHOSTFS" import "$IMG"
expect 2 "'extra' is extra" "$VHOSTFS" import "$IMG" "$SRC" extra
expect 2 "unknown option '--bogus'" "$VHOSTFS" export --bogus "$IMG" "$SRC"
expect 2 "--export 'a/b'" "$VHOSTFS" export "$IMG" "$SRC" --export a/b
expect 2 "option '--into' needs a value" "$VHOSTFS" import "$IMG" "$SRC" --into
expect 2 "one PATH only" "$VHOSTFS" ls "$IMG" / /dir
expect 2 "no PATH given" "$VHOSTFS" cat "$IMG"
expect 2 "NAME 'bad name'" "$VHOSTFS" snapshot "$IMG" "bad name"
expect 2 "no NEWNAME given" "$VHOSTFS" clone "$IMG" gold
expect 2 "no IMAGE given" "$VHOSTFS" volumes
expect 2 "no NAME given" "$VHOSTFS" delete "$IMG"
for c in import export ls cat snapshot clone volumes delete mkfs fsck; do
	expect 0 "" "$VHOSTFS" "$c" --help
	out_has "usage: vhostfs $c"
done
expect 0 "" "$VHOSTFS" --help
for c in import export ls cat snapshot clone volumes delete; do
	out_has "^  $c "
done
[ ! -e "$IMG" ] || vfs_fail "a bad command line created the image"

# --- mkfs: the store and the file system main ---------------------------------
expect 0 "" "$VHOSTFS" mkfs "$IMG" --size 1G
out_has "file system 'main' made"
fsck_clean "after mkfs"
expect 0 "" "$VHOSTFS" volumes "$IMG"
out_has "^main  *volume  *-"
expect 0 "" "$VHOSTFS" ls "$IMG"
[ ! -s "$VFS_TMP/out" ] || vfs_fail "a new file system is not empty: $(cat "$VFS_TMP/out")"
IMG0=$VFS_TMP/bare
expect 0 "" "$VHOSTFS" mkfs "$IMG0" --size 256M --no-fs
expect 0 "" "$VHOSTFS" volumes "$IMG0"
grep -q "^main" "$VFS_TMP/out" && vfs_fail "--no-fs made a file system"
expect 1 "no file system named 'main'" "$VHOSTFS" ls "$IMG0"
rm -f "$IMG0"

# --- import, export, compare ----------------------------------------------------
expect 0 "" "$VHOSTFS" import "$IMG" "$SRC"
out_has "imported $SRC into main:/"
XATTRS=x
if grep -q "does not store xattrs" "$VFS_TMP/err"; then
	vfs_log "note: the file system does not store xattrs yet; not compared"
	XATTRS=
	expect 0 "" "$VHOSTFS" mkfs "$VFS_TMP/ximage" --size 256M
	expect 1 "xattrs" "$VHOSTFS" import "$VFS_TMP/ximage" "$SRC" --xattrs
	rm -f "$VFS_TMP/ximage"
fi
snapshot "$SRC" "$VFS_TMP/src.lines"
fsck_clean "after import"
expect 0 "" "$VHOSTFS" export "$IMG" "$VFS_TMP/out1"
out_has "exported main:/ into $VFS_TMP/out1"
same_tree "$VFS_TMP/src.lines" "$VFS_TMP/out1"
# holes stay holes: 64 MiB with two short runs of data
used=$(($(stat -c %b "$VFS_TMP/out1/sparse") * 512))
[ "$used" -lt $((1 << 20)) ] || vfs_fail "exported sparse file uses $used bytes"
fsck_clean "after export"

# import does not overwrite; a snapshot is not written; nothing left half
expect 1 "already in the image (import does not overwrite)" \
	"$VHOSTFS" import "$IMG" "$SRC"
expect 1 "exists on the host (export does not overwrite)" \
	"$VHOSTFS" export "$IMG" "$VFS_TMP/out1"
expect 1 "no file system named 'nope'" "$VHOSTFS" import "$IMG" "$SRC" \
	--export nope

# --- ls and cat ----------------------------------------------------------------------
expect 0 "" "$VHOSTFS" ls "$IMG"
(cd "$SRC" && LC_ALL=C ls -A | LC_ALL=C sort) >"$VFS_TMP/names"
LC_ALL=C sort "$VFS_TMP/out" | diff - "$VFS_TMP/names" >/dev/null ||
	vfs_fail "ls /: $(cat "$VFS_TMP/out")"
expect 0 "" "$VHOSTFS" ls -l "$IMG" /
out_has "^-rwsr-xr-x   1     0     0          5 .* suid$"
out_has "^-rwx--s--x .* sgid$"
out_has "^drwxrwxrwt .* sticky$"
out_has "^-rw-r--r--   1  4242  4343 .* odd-owner$"
out_has "^-rw-r-----   1     0     0          1 2001-02-03 04:05:06.123456789 one$"
out_has "^crw-r--r-- .*  1, 3 .* null-dev$"
out_has "^brw-r--r-- .*  7, 200 .* loop-dev$"
out_has "^prw-r--r-- .* fifo$"
out_has "^srwxr-xr-x .* socket$"
out_has "^-rw-r--r--   3 .* hard$"
out_has "^lrwxrwxrwx .* abs-link -> /nonexistent/absolute$"
expect 0 "" "$VHOSTFS" ls -R "$IMG" /dir
out_has "^/dir/sub/deep:$"
out_has "^hard3$"
expect 0 "" "$VHOSTFS" ls -l "$IMG" /dir/sub/inline-edge
out_has " 3000 .* /dir/sub/inline-edge$"
expect 1 "No such file" "$VHOSTFS" ls "$IMG" /missing
expect 0 "" "$VHOSTFS" cat "$IMG" /one
[ "$(cat "$VFS_TMP/out")" = 1 ] || vfs_fail "cat /one: $(cat "$VFS_TMP/out")"
expect 0 "" "$VHOSTFS" cat "$IMG" /big
cmp -s "$VFS_TMP/out" "$SRC/big" || vfs_fail "cat /big differs"
expect 0 "" "$VHOSTFS" cat "$IMG" dir/rel-link /dir-link/deep/hard3
[ "$(cat "$VFS_TMP/out")" = "$(printf 'hard\nhard')" ] ||
	vfs_fail "cat through symlinks: $(cat "$VFS_TMP/out")"
expect 0 "" "$VHOSTFS" cat "$IMG" /sparse
cmp -s "$VFS_TMP/out" "$SRC/sparse" || vfs_fail "cat /sparse differs"
expect 1 "Is a directory" "$VHOSTFS" cat "$IMG" /dir
expect 1 "No such file" "$VHOSTFS" cat "$IMG" /abs-link

# --- export never writes through a host symlink ------------------------------
mkdir "$VFS_TMP/out2"
ln -s "$VFS_TMP/victim" "$VFS_TMP/out2/one"
expect 1 "one: creating: exists on the host" "$VHOSTFS" export "$IMG" \
	"$VFS_TMP/out2"
[ ! -e "$VFS_TMP/victim" ] || vfs_fail "export wrote through a symlink"
rm -rf "$VFS_TMP/out2"

# --- --into and --from ----------------------------------------------------------
mkdir -p "$VFS_TMP/small/x"
echo small >"$VFS_TMP/small/x/file"
expect 0 "" "$VHOSTFS" import "$IMG" "$VFS_TMP/small" --into /new/place -q
[ ! -s "$VFS_TMP/out" ] || vfs_fail "import -q printed: $(cat "$VFS_TMP/out")"
expect 0 "" "$VHOSTFS" cat "$IMG" /new/place/x/file
out_has "^small$"
expect 0 "" "$VHOSTFS" export "$IMG" "$VFS_TMP/out3" --from /new/place
cmp -s "$VFS_TMP/out3/x/file" "$VFS_TMP/small/x/file" || vfs_fail "--from"
expect 1 "not a directory\|Not a directory" "$VHOSTFS" import "$IMG" \
	"$VFS_TMP/small" --into /one/x
fsck_clean "after --into"

# --- snapshot, change, clone, export both ------------------------------------------
expect 0 "" "$VHOSTFS" snapshot "$IMG" gold
out_has "snapshot 'gold' of 'main' taken"
expect 1 "already has a file system named 'gold'" \
	"$VHOSTFS" snapshot "$IMG" gold
fsck_clean "after snapshot"
out_has "file system 'gold': clean"
mkdir -p "$VFS_TMP/later"
echo later >"$VFS_TMP/later/after-snapshot"
expect 0 "" "$VHOSTFS" import "$IMG" "$VFS_TMP/later" --into /later
expect 1 "read-only\|Read-only" "$VHOSTFS" import "$IMG" "$VFS_TMP/later" \
	--export gold --into /later
expect 0 "" "$VHOSTFS" export "$IMG" "$VFS_TMP/gold" --export gold
[ ! -e "$VFS_TMP/gold/later" ] || vfs_fail "the snapshot changed with main"
cmp -s "$VFS_TMP/gold/new/place/x/file" "$VFS_TMP/small/x/file" ||
	vfs_fail "the snapshot lost /new/place"
rm -rf "$VFS_TMP/gold/new"
touch -d "$NS2" "$VFS_TMP/gold" # its mtime moved with --into /new/place
same_tree "$VFS_TMP/src.lines" "$VFS_TMP/gold"
expect 0 "" "$VHOSTFS" ls "$IMG" /later
out_has "^after-snapshot$"

expect 0 "" "$VHOSTFS" clone "$IMG" gold work
out_has "clone 'work' of 'gold' made"
expect 1 "'main' is not a snapshot" "$VHOSTFS" clone "$IMG" main work2
expect 0 "" "$VHOSTFS" import "$IMG" "$VFS_TMP/later" --export work \
	--into /in-clone
expect 0 "" "$VHOSTFS" export "$IMG" "$VFS_TMP/work" --export work
cmp -s "$VFS_TMP/work/in-clone/after-snapshot" \
	"$VFS_TMP/later/after-snapshot" || vfs_fail "the clone is not writable"
[ ! -e "$VFS_TMP/work/later" ] || vfs_fail "the clone sees main's change"
rm -rf "$VFS_TMP/work/in-clone" "$VFS_TMP/work/new"
touch -d "$NS2" "$VFS_TMP/work" # its mtime moved with the imports
same_tree "$VFS_TMP/src.lines" "$VFS_TMP/work"
expect 1 "No such file" "$VHOSTFS" ls "$IMG" /in-clone --export gold
fsck_clean "after clone"
out_has "file system 'work': clean"

expect 0 "" "$VHOSTFS" volumes "$IMG"
out_has "^gold  *snapshot "
# the snapshot owns the clusters it froze; its clones share them
out_has "^gold  *snapshot  *-  *[0-9.]* [KMGT]iB  *[1-9][0-9.]* [KMGT]iB$"
out_has "^work  *clone  *gold "
out_has "^main .* gold "

# --- delete -------------------------------------------------------------------------
expect 1 "has clones" "$VHOSTFS" delete "$IMG" gold
expect 0 "" "$VHOSTFS" delete "$IMG" work
out_has "'work' deleted"
expect 1 "no file system named 'work'" "$VHOSTFS" delete "$IMG" work
expect 0 "" "$VHOSTFS" volumes "$IMG"
grep -q "^work" "$VFS_TMP/out" && vfs_fail "work still listed"
fsck_clean "after delete"

# --- a file system destroyed under an intact store: fsck says 4 ---------------
IMG4=$VFS_TMP/broken
expect 0 "" "$VHOSTFS" mkfs "$IMG4" --size 256M -q
expect 0 "" "$VHOSTFS" dump "$IMG4"
first=$(sed -n 's/.*data from cluster \([0-9]*\).*/\1/p' "$VFS_TMP/out")
count=$(sed -n 's/.* \([0-9]*\) allocated.*/\1/p' "$VFS_TMP/out")
csize=$(sed -n 's/.*cluster \([0-9]*\), md page.*/\1/p' "$VFS_TMP/out")
[ -n "$first" ] && [ -n "$count" ] && [ -n "$csize" ] ||
	vfs_fail "dump: $(cat "$VFS_TMP/out")"
# every allocated data cluster of the empty store is the volume's metadata
dd if=/dev/urandom of="$IMG4" bs="$csize" seek="$first" count="$count" \
	conv=notrunc status=none
expect 4 "main" "$VHOSTFS" fsck "$IMG4"
out_has "$IMG4: clean, 1 blobs" # the store itself is fine
expect 1 "main" "$VHOSTFS" ls "$IMG4"
vfs_log "PASS"
