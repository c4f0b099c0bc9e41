#!/bin/bash
# SPDX-License-Identifier: MIT
# bench-virtiofsd.sh - the bench front-end against Debian's C virtiofsd:
# smoke and verify (in every descriptor layout, with and without indirect
# descriptors and EVENT_IDX, with an unaligned buffer), then a short
# randread, meta and smallfile run checked for a well-formed JSON line.
# Needs root and /usr/lib/qemu/virtiofsd; exits 77 (skipped) otherwise.
set -u
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
BENCH=${VHOSTFS_BENCH:?VHOSTFS_BENCH must point at vhostfs-bench}

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
[ -x "$VIRTIOFSD" ] || { echo "skip: no $VIRTIOFSD"; exit 77; }

work=$(mktemp -d /tmp/bench-virtiofsd.XXXXXX)
sock=$work/vfsd.sock
share=$work/share
mkdir -p "$share"
daemon=

stop_daemon() {
	[ -n "$daemon" ] || return 0
	# virtiofsd exits when the front-end disconnects; give it a moment
	for _ in $(seq 40); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
	daemon=
}
cleanup() { stop_daemon; rm -rf "$work"; }
trap cleanup EXIT

# One virtiofsd per connection: it serves a single front-end, then exits.
start_daemon() {
	rm -f "$sock"
	"$VIRTIOFSD" --socket-path="$sock" -o source="$share" -o cache=none \
		-o sandbox=chroot >>"$work/virtiofsd.log" 2>&1 &
	daemon=$!
	for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
	echo "virtiofsd did not create $sock"; cat "$work/virtiofsd.log"; exit 1
}

fail=0
run() {
	start_daemon
	echo "== vhostfs-bench $*"
	if ! timeout 120 "$BENCH" "$@" --socket "$sock" --timeout 20 \
		>"$work/out" 2>"$work/err"; then
		echo "FAILED: $*"; cat "$work/out" "$work/err"; fail=1
	else
		cat "$work/out"
	fi
	stop_daemon
}

run smoke
run smoke --layout scatter --buf-offset 1000 --no-indirect
run verify --size 8M --qd 8 --runtime 1
run verify --size 4M --qd 4 --ops 3000 --layout scatter --buf-offset 512
run verify --size 4M --qd 16 --ops 3000 --no-indirect --no-event-idx --layout joined
run verify --size 8M --bs 128k --qd 4 --ops 200 --poll
run verify --size 4M --bs 64k --qd 2 --ops 100 --buf-offset 4000
run randread --size 4M --qd 4 --runtime 0.5 --json
grep -q '"workload":"randread".*"errors":0' "$work/out" || { echo "bad JSON: $(cat "$work/out")"; fail=1; }
run meta --files 200 --qd 4 --json
grep -q '"workload":"meta".*"files":200' "$work/out" || { echo "bad JSON: $(cat "$work/out")"; fail=1; }
run smallfile --files 100 --qd 4 --json
grep -q '"workload":"smallfile".*"errors":0.*"files":100' "$work/out" || { echo "bad JSON: $(cat "$work/out")"; fail=1; }

# nothing left behind in the share
left=$(ls -A "$share")
[ -z "$left" ] || { echo "files left in the share: $left"; fail=1; }
exit $fail
