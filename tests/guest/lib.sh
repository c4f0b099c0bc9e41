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

daemon_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
daemon_memfd_maps() { grep -c 'memfd:' "/proc/$1/maps" 2>/dev/null || true; }
daemon_threads() { cat "/proc/$1"/task/*/comm 2>/dev/null | grep -vc '^iou-'; }

queue_counts() {
	grep 'session ended:' "$1" | tail -n 1 | grep -o 't[0-9]*\[q[0-9]*\]=[0-9]*' |
		sed 's/t[0-9]*\[\(q[0-9]*\)\]/\1/' | tr '\n' ' '
}
