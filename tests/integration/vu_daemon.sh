#!/bin/bash
# SPDX-License-Identifier: MIT
# vhostfsd as a vhost-user daemon: a stale socket file is replaced, any
# other file at the path is refused; an inherited listening socket (--fd,
# as libvirt passes it) is served and listened on again; an inherited
# connected socket is served once, then the daemon exits 0; SIGINT and
# SIGTERM (also in the middle of a run) stop it with status 0;
# --print-capabilities is JSON; vhost-user options need a vhost-user socket.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools python3
[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name the vhostfs tool"

smoke() {
	vfs_run 60 "$VHOSTFS" bench smoke --socket "$1" --timeout 10 >/dev/null
}

# a socket file left by a killed daemon is replaced
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$VFS_SOCK"
[ -S "$VFS_SOCK" ] || vfs_fail "could not make a stale socket"
vfs_vu_start
smoke "$VFS_SOCK"
smoke "$VFS_SOCK"
vfs_vu_stop

# anything else at the path is not ours to remove
echo precious >"$VFS_SOCK"
if "$VHOSTFSD" --shared-dir "$VFS_SHARE" --socket-path "$VFS_SOCK" \
	>"$VFS_TMP/refused.log" 2>&1; then
	vfs_fail "vhostfsd started over a regular file"
fi
[ "$(cat "$VFS_SOCK")" = precious ] || vfs_fail "the file at the socket path was changed"
grep -q "cannot listen on" "$VFS_TMP/refused.log" || vfs_fail "no reason given: $(cat "$VFS_TMP/refused.log")"
rm -f "$VFS_SOCK"

# --fd: a listening socket made by the caller (libvirt's way)
lsock=$VFS_TMP/inherited.sock
python3 - "$lsock" "$VHOSTFSD" "$VFS_SHARE" >>"$VFS_LOG" 2>&1 <<'PY' &
import os, socket, sys
path, daemon, share = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
os.set_inheritable(s.fileno(), True)
os.execv(daemon, [daemon, "--fd=%d" % s.fileno(), "--shared-dir", share])
PY
VFS_PID=$!
for _ in $(seq 100); do [ -S "$lsock" ] && break; sleep 0.1; done
grep -q "on vhost-user fd" "$VFS_LOG" || sleep 1
smoke "$lsock"
smoke "$lsock"
kill -INT "$VFS_PID"
for _ in $(seq 100); do kill -0 "$VFS_PID" 2>/dev/null || break; sleep 0.1; done
wait "$VFS_PID" || vfs_fail "--fd daemon: exit status $? after SIGINT"
VFS_PID=

# --fd: one end of a connected pair is one front-end; when it goes, so do we
python3 - "$VHOSTFSD" "$VFS_SHARE" <<'PY' || vfs_fail "--fd with a connected socket"
import os, socket, subprocess, sys, time
daemon, share = sys.argv[1:3]
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
p = subprocess.Popen([daemon, "--fd=%d" % b.fileno(), "--shared-dir", share],
                     pass_fds=[b.fileno()])
b.close()
# GET_QUEUE_NUM (17), version 1: the reply says 1 + request queues
a.sendall((17).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(4))
reply = a.recv(20)
assert len(reply) == 20 and int.from_bytes(reply[12:], "little") == 2, reply
a.close()
sys.exit(p.wait(timeout=20))
PY

# SIGTERM in the middle of a run: the daemon stops with 0, the run fails
vfs_vu_start --queues 2
"$VHOSTFS" bench randwrite --socket "$VFS_SOCK" --size 4M --qd 8 --queues 2 \
	--runtime 20 --timeout 10 >"$VFS_TMP/cut.out" 2>&1 &
bpid=$!
sleep 1
vfs_vu_stop
if timeout 30 tail --pid="$bpid" -f /dev/null; wait "$bpid"; then
	vfs_fail "bench passed although the daemon went away"
fi

# capabilities and misused options
"$VHOSTFSD" --print-capabilities | python3 -c 'import json, sys
c = json.load(sys.stdin)
assert c["type"] == "fs" and "migrate-precopy" not in c["features"], c' ||
	vfs_fail "--print-capabilities"
if "$VHOSTFSD" --shared-dir "$VFS_SHARE" --fuse-mount "$VFS_MNT" --queues 2 \
	2>"$VFS_TMP/err"; then
	vfs_fail "--queues accepted with --fuse-mount"
fi
grep -q "vhost-user" "$VFS_TMP/err" || vfs_fail "unclear error: $(cat "$VFS_TMP/err")"
vfs_check_log
vfs_log "PASS"
