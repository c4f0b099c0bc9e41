#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One vhostfsd, several guests one after the other: the daemon must drop
# each front-end's state and serve the next (virtiofsd exits instead).
#
#   reconnect.sh sequential   two guests booted one after the other (6.1,
#                             then 6.12): the second checks and changes
#                             what the first wrote; then `vhostfs bench
#                             smoke` as a third front-end
#   reconnect.sh sigkill      guests SIGKILLed in the middle of I/O (a 6.12
#                             guest on two request queues, then a 6.1
#                             one), then a guest that must work normally,
#                             then `vhostfs bench smoke`
#
# After every front-end the daemon must be alive with the fds, threads and
# guest-memory mappings it had before the first one (no leak), and at the
# end SIGTERM must stop it with status 0 and remove its socket.
# Environment: VHOSTFSD, VHOSTFS (set by meson).  Exit 0 / 1 / 77 (skip).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
mode=${1:-}
VHOSTFSD=${VHOSTFSD:-$top/build/src/app/vhostfsd}
VHOSTFS=${VHOSTFS:-$top/build/src/app/vhostfs}
dpid='' result=1 sessions=0

say() { echo "reconnect[$mode]: $*"; }
skip() { say "SKIP: $*"; result=77; exit 77; }
fail() {
	say "FAIL: $*"
	[ -f "$work/daemon.log" ] && { say "---- daemon log (last 30 lines) ----"; tail -n 30 "$work/daemon.log"; }
	exit 1
}

cleanup() {
	[ -n "$dpid" ] && kill -KILL "$dpid" 2>/dev/null
	if [ "$result" = 1 ]; then
		say "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}

prerequisites() {
	case "$mode" in sequential | sigkill) ;; *) echo "usage: $0 sequential|sigkill" >&2; exit 2 ;; esac
	[ "$(id -u)" = 0 ] || skip "needs root (QEMU memfd sharing, /proc of the daemon)"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	[ -x "$VHOSTFSD" ] || skip "no vhostfsd at $VHOSTFSD"
	"$top/scripts/guest-image.sh" || skip "guest image could not be built"
}

start_daemon() {
	"$VHOSTFSD" --socket-path "$sock" --shared-dir "$share" "$@" \
		>"$work/daemon.log" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	fail "vhostfsd did not create $sock"
}

# The daemon's resources while no front-end is connected.
snapshot() { echo "fds=$(daemon_fds "$dpid") threads=$(daemon_threads "$dpid") memfd-maps=$(daemon_memfd_maps "$dpid")"; }

# After front-end number $sessions went away: its session is logged as
# ended, and the daemon is back to the idle snapshot.
check_idle() {
	local what=$1 n now
	for _ in $(seq 150); do
		n=$(grep -c 'session ended:' "$work/daemon.log")
		[ "$n" -ge "$sessions" ] && break
		kill -0 "$dpid" 2>/dev/null || fail "vhostfsd died after $what"
		sleep 0.1
	done
	[ "$n" -ge "$sessions" ] || fail "vhostfsd did not end the session of $what"
	kill -0 "$dpid" 2>/dev/null || fail "vhostfsd died after $what"
	grep -E -q 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/daemon.log" &&
		fail "sanitizer report after $what"
	now=$(snapshot)
	say "after $what: $now (idle: $idle)"
	[ "$now" = "$idle" ] || fail "resources leaked by $what: $now, idle was $idle"
}

# guest NAME SCRIPT [run-guest options]: boot one guest, it must pass.
guest() {
	local name=$1 script=$2 rc
	shift 2
	sessions=$((sessions + 1))
	"$here/run-guest.sh" --socket "$sock" --share "$share" --script "$script" \
		--log "$work/$name.console" --timeout 240 "$@" 2>&1 | sed "s/^/  /"
	rc=${PIPESTATUS[0]}
	[ "$rc" = 77 ] && skip "guest cannot run here"
	[ "$rc" = 0 ] || fail "guest $name: rc=$rc"
	check_idle "guest $name"
}

bench_smoke() {
	sessions=$((sessions + 1))
	timeout 60 "$VHOSTFS" bench smoke --socket "$sock" --timeout 20 >"$work/bench.out" 2>&1 ||
		{ cat "$work/bench.out"; fail "vhostfs bench smoke"; }
	say "bench: $(cat "$work/bench.out")"
	check_idle "vhostfs bench smoke"
}

stop_daemon() {
	local rc
	kill -TERM "$dpid"
	for _ in $(seq 100); do
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$dpid" 2>/dev/null && fail "vhostfsd ignored SIGTERM for 10 s"
	wait "$dpid"
	rc=$?
	dpid=''
	[ "$rc" = 0 ] || fail "vhostfsd exited with status $rc after SIGTERM"
	[ -e "$sock" ] && fail "socket $sock left behind"
	tail -n 1 "$work/daemon.log" | sed 's/^/  /'
}

# --- sequential -------------------------------------------------------------

write_scripts_sequential() {
	cat >"$work/first.sh" <<'EOF'
set -e
O=/mnt/out/first
mkdir -p "$O/dir"
i=0
while [ "$i" -lt 50 ]; do echo "first $i" >"$O/dir/f$i"; i=$((i + 1)); done
dd if=/dev/urandom of="$O/blob" bs=64k count=16 2>/dev/null
(cd "$O" && sha256sum blob dir/f7 >sums)
ln -s dir/f1 "$O/link"
mv "$O/dir/f49" "$O/renamed"
sync
EOF
	cat >"$work/second.sh" <<'EOF'
set -e
O=/mnt/out/first
echo 3 >/proc/sys/vm/drop_caches
(cd "$O" && sha256sum -c -s sums)
[ "$(cat "$O/link")" = "first 1" ]
[ "$(cat "$O/renamed")" = "first 49" ]
[ "$(ls "$O/dir" | wc -l)" = 49 ]
rm "$O/dir/f0" "$O/renamed"
echo second >/mnt/out/second
sync
EOF
}

run_sequential() {
	write_scripts_sequential
	mkdir -p "$share/out"
	start_daemon
	idle=$(snapshot)
	guest first "$work/first.sh" --kernel 6.1
	[ "$(cat "$share/out/first/dir/f3")" = "first 3" ] || fail "host: first guest's file"
	guest second "$work/second.sh" --kernel 6.12
	if [ -e "$share/out/first/dir/f0" ] || [ "$(cat "$share/out/second")" != second ]; then
		fail "host: second guest's changes missing"
	fi
	bench_smoke
	stop_daemon
}

# --- sigkill ----------------------------------------------------------------

write_scripts_sigkill() {
	# writers and readers in a loop until QEMU is killed (the watchdog
	# would end it otherwise); the marker says I/O is under way
	cat >"$work/io.sh" <<'EOF'
O=/mnt/out/kill
mkdir -p "$O"
dd if=/dev/urandom of=/tmp/src bs=64k count=16 2>/dev/null
loop() {
	n=0
	while :; do
		dd if=/tmp/src of="$O/w$1.$n" bs=64k conv=fsync 2>/dev/null
		cat "$O/w$1.$n" >/dev/null
		rm -f "$O/w$1.$((n - 2))"
		n=$((n + 1))
	done
}
loop 1 & loop 2 &
sleep 1
echo "<2>VHOSTFS-IO-RUNNING" >/dev/kmsg
wait
EOF
	cat >"$work/after.sh" <<'EOF'
set -e
[ -d /mnt/out/kill ]
rm -rf /mnt/out/kill
dd if=/dev/urandom of=/tmp/x bs=64k count=32 2>/dev/null
cp /tmp/x /mnt/out/after
echo 3 >/proc/sys/vm/drop_caches
cmp /tmp/x /mnt/out/after
sha256sum </tmp/x | cut -d' ' -f1 >/mnt/out/after.sum
sync
EOF
}

# kill_guest NAME [run-guest options]: SIGKILL QEMU once I/O runs.
kill_guest() {
	local name=$1 log qpid rpid
	shift
	log=$work/$name.console
	sessions=$((sessions + 1))
	rm -f "$work/qemu.pid"
	"$here/run-guest.sh" --socket "$sock" --share "$share" --script "$work/io.sh" \
		--log "$log" --timeout 240 --pidfile "$work/qemu.pid" "$@" >"$work/$name.out" 2>&1 &
	rpid=$!
	for _ in $(seq 1800); do
		grep -aq VHOSTFS-IO-RUNNING "$log" 2>/dev/null && break
		kill -0 "$rpid" 2>/dev/null || break
		sleep 0.1
	done
	grep -aq VHOSTFS-IO-RUNNING "$log" 2>/dev/null ||
		{ cat "$work/$name.out"; fail "guest $name never got its I/O going"; }
	sleep 2 # in the middle of it
	qpid=$(cat "$work/qemu.pid")
	say "guest $name: I/O running, SIGKILL to QEMU $qpid"
	kill -KILL "$qpid"
	wait "$rpid" 2>/dev/null
	check_idle "SIGKILLed guest $name"
}

run_sigkill() {
	write_scripts_sigkill
	mkdir -p "$share/out"
	start_daemon --queues 2 --threads 2
	idle=$(snapshot)
	kill_guest killed-mq --kernel 6.12 --smp 2 --queues 2
	kill_guest killed-1q --kernel 6.1
	guest after "$work/after.sh" --kernel 6.1
	[ ! -e "$share/out/kill" ] || fail "host: the after guest did not clean up"
	[ "$(sha256sum <"$share/out/after" | cut -d' ' -f1)" = "$(cat "$share/out/after.sum")" ] ||
		fail "host: the after guest's file differs"
	bench_smoke
	stop_daemon
}

main() {
	prerequisites
	work=$(mktemp -d /tmp/vhostfs-reconnect.XXXXXX)
	trap cleanup EXIT
	share=$work/share
	sock=$work/vhost.sock
	mkdir -p "$share"
	"run_$mode"
	result=0
	say "PASSED"
}

main
