# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# lib.sh - host-side helpers shared by the guest tests (bash; sourced).
#
#   guest_stage_fio SHARE     copy the host's fio, its libraries and the
#                             dynamic loader to SHARE/.guest/fio (1 if the
#                             host has no fio)
#   guest_make_many DIR N     N small files under DIR/many in DIR/many.tar,
#                             their checksums in DIR/many.sha256
#   daemon_fds PID            open fds of PID
#   daemon_memfd_maps PID     mappings of guest RAM (memfd) in PID
#   daemon_threads PID        threads of PID (io_uring's own io-wq workers,
#                             which the kernel starts and retires, left out)
#   queue_counts LOG          "q1=N q2=M ..." from vhostfsd's last
#                             "session ended" line (requests per request
#                             queue, when each queue has its own thread)
#   fuse_mount VHOSTFSD MNT LOG ARGS...
#                             start VHOSTFSD ARGS --fuse-mount MNT and wait
#                             until the mount answers (fuse_pid is the
#                             daemon); fuse_umount: unmount, status 0
#   guest_make_project DIR    DIR/project.tar.gz: tests/guest/project (a
#                             small C program with a Makefile)

guest_stage_fio() {
	local dst=$1/.guest/fio fio lib
	fio=$(command -v fio) || return 1
	mkdir -p "$dst/lib"
	cp "$fio" "$dst/fio"
	# ldd lists every library, transitive ones included
	for lib in $(ldd "$fio" | awk '/=> \// {print $3}'); do
		cp -L "$lib" "$dst/lib/"
	done
	cp -L "$(ldd "$fio" | awk '/ld-linux/ {print $1}')" "$dst/ld.so"
}

guest_make_many() {
	python3 - "$1" "$2" <<'PY'
import hashlib, io, os, sys, tarfile
top, n = sys.argv[1], int(sys.argv[2])
sums = []
with tarfile.open(os.path.join(top, "many.tar"), "w") as tar:
    for d in ["many"] + ["many/d%02d" % j for j in range(40)]:
        info = tarfile.TarInfo(d)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    for i in range(n):
        name = "many/d%02d/f%05d" % (i % 40, i)
        data = (("file %d " % i) * (1 + i % 97)).encode()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        info.mtime = 1000000000 + i
        tar.addfile(info, io.BytesIO(data))
        sums.append("%s  %s\n" % (hashlib.sha256(data).hexdigest(), name))
with open(os.path.join(top, "many.sha256"), "w") as f:
    f.writelines(sums)
PY
}

fuse_mount() {
	local daemon=$1 mnt=$2 log=$3
	shift 3
	mkdir -p "$mnt"
	"$daemon" "$@" --fuse-mount "$mnt" >>"$log" 2>&1 &
	fuse_pid=$!
	fuse_mnt=$mnt
	for _ in $(seq 200); do
		kill -0 "$fuse_pid" 2>/dev/null || break
		if [ "$(findmnt -n -o FSTYPE -M "$mnt" 2>/dev/null | tail -n 1)" = fuse.vhostfs ] &&
			timeout 5 stat -f "$mnt" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "fuse_mount: $daemon $* --fuse-mount $mnt did not come up" >&2
	tail -n 20 "$log" >&2
	kill -KILL "$fuse_pid" 2>/dev/null
	umount -l "$mnt" 2>/dev/null
	fuse_pid=''
	return 1
}

# The daemon exits (0) once its mount is gone.
fuse_umount() {
	local rc
	sync
	umount "$fuse_mnt" || { umount -l "$fuse_mnt"; kill -KILL "$fuse_pid"; }
	timeout 30 tail --pid="$fuse_pid" -f /dev/null
	wait "$fuse_pid"
	rc=$?
	fuse_pid=''
	[ "$rc" -eq 0 ] || echo "fuse_umount: the daemon exited with status $rc" >&2
	return "$rc"
}

# Deterministic: the same tarball, so the host's reference build and the
# guest's build start from identical bytes.
guest_make_project() {
	tar -C "$(dirname "${BASH_SOURCE[0]}")" --sort=name --owner=0 --group=0 \
		--numeric-owner --mtime=2026-11-27T00:00:00Z -czf "$1/project.tar.gz" project
}

daemon_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
daemon_memfd_maps() { grep -c 'memfd:' "/proc/$1/maps" 2>/dev/null || true; }
daemon_threads() { cat "/proc/$1"/task/*/comm 2>/dev/null | grep -vc '^iou-'; }

queue_counts() {
	grep 'session ended:' "$1" | tail -n 1 | grep -o 't[0-9]*\[q[0-9]*\]=[0-9]*' |
		sed 's/t[0-9]*\[\(q[0-9]*\)\]/\1/' | tr '\n' ' '
}
