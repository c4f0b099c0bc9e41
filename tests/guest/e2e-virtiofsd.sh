#!/usr/bin/env bash
# shellcheck disable=SC2317 # check functions are called indirectly
# End-to-end virtio-fs test: a real Linux guest (QEMU, TCG) mounts a share
# served by a vhost-user-fs back-end, runs tests/guest/workload.sh in it, and
# the host then checks what the guest wrote (contents, symlinks, hard links,
# modes, owners, times, xattrs, a few thousand unpacked files).  By default
# the back-end is the old C virtiofsd that Debian 12 ships (which proved the
# harness); VHOSTFS_DAEMON points it at vhostfsd (the 'guest' meson suite).
#
#   e2e-virtiofsd.sh [--kernel 6.1|6.12] [--queues N] [--smp N] [--hugepages]
#                    [--check-queues] [--devel] [--keep]
#
#   --check-queues   the back-end is vhostfsd with one thread per request
#                    queue: its "session ended" log line must show requests
#                    on every one of the --queues N request queues
#   --devel          after the workload, the guest uses the share as the
#                    working directory of the host's own Debian userland
#                    (tests/guest/devel.sh: a second vhostfsd serves the
#                    host's / read-only as tag "hostroot", the guest chroots
#                    into it): untar a C project, make, run it, git
#                    init/commit/gc/fsck; the host runs the same steps and
#                    compares output, binaries, checksums and commit ids
#
# An image back-end: when the command has {image}, the share is a file
# system in a fresh sparse image (`vhostfs mkfs`, 2G) instead of a host
# directory.  The host prepares the guest's input in a directory and copies
# it in through a `vhostfsd --image --fuse-mount` mount; after the guest,
# `vhostfs fsck` of the image must exit 0 and the host checks read the
# tree through a read-only mount of the image.
#
# Environment:
#   VHOSTFS_DAEMON   back-end command; {sock}, {share} and {image} are
#                    replaced with the socket path, the shared directory
#                    and the image file.  Default:
#                    /usr/lib/qemu/virtiofsd --socket-path={sock} -o source={share} -o xattr
#   VHOSTFSD, VHOSTFS  vhostfsd and the vhostfs tool (image back-end and
#                    --devel; default: the back-end command's directory)
#   VHOSTFS_REQUIRE_XATTR=0   accept a back-end that does not serve xattrs
#   VHOSTFS_REQUIRE_FIO=1     fail (not skip) the guest's fio check when the
#                             host has no fio to lend the guest
#   VHOSTFS_MANY_FILES=N      files in the unpack check (default 1000)
#   VHOSTFS_GUEST_TIMEOUT=S   host watchdog for the guest (default 300)
#
# Exit: 0 passed, 1 failed, 77 skipped (no QEMU, no back-end binary, no
# guest image).  The work directory is kept on failure (or with --keep).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
default_daemon='/usr/lib/qemu/virtiofsd --socket-path={sock} -o source={share} -o xattr'
daemon_template=${VHOSTFS_DAEMON:-$default_daemon}
guest_args=()
keep=0
check_queues=0
devel=0
image_mode=0
nqueues=1
. "$here/lib.sh"

say() { echo "e2e: $*"; }
skip() { say "SKIP: $*"; result=77; exit 77; }

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel | --smp) guest_args+=("$1" "${2-}"); shift ;;
		--queues) guest_args+=("$1" "${2-}"); nqueues=${2-}; shift ;;
		--hugepages) guest_args+=("$1") ;;
		--check-queues) check_queues=1 ;;
		--devel) devel=1 ;;
		--keep) keep=1 ;;
		*) say "usage: $0 [--kernel 6.1|6.12] [--queues N] [--smp N] [--hugepages] [--check-queues] [--devel] [--keep]"; exit 2 ;;
		esac
		shift || exit 2
	done
}

# The back-end command as an argv, placeholders filled in.
daemon_argv() {
	local cmd=${daemon_template//\{sock\}/$sock}
	cmd=${cmd//\{share\}/$share}
	case "$cmd" in *"{image}"*) image_mode=1 ;; esac
	cmd=${cmd//\{image\}/$image}
	read -ra daemon_cmd <<<"$cmd"
}

prerequisites() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	daemon_argv
	[ -x "${daemon_cmd[0]}" ] || command -v "${daemon_cmd[0]}" >/dev/null ||
		skip "back-end ${daemon_cmd[0]} not found"
	"$top/scripts/guest-image.sh" || skip "guest image could not be built"
	local bindir
	bindir=$(dirname "$(command -v "${daemon_cmd[0]}")")
	VHOSTFSD=${VHOSTFSD:-$bindir/vhostfsd}
	VHOSTFS=${VHOSTFS:-$bindir/vhostfs}
	if [ "$image_mode" = 1 ] || [ "$devel" = 1 ]; then
		[ "$(id -u)" = 0 ] || skip "needs root (a FUSE mount of the image, a share of /)"
		[ -x "$VHOSTFSD" ] || skip "no vhostfsd at $VHOSTFSD"
	fi
	[ "$image_mode" = 0 ] || [ -x "$VHOSTFS" ] || skip "no vhostfs tool at $VHOSTFS"
	if [ "$devel" = 1 ]; then
		for t in bash gcc make git tar sha256sum; do
			command -v "$t" >/dev/null ||
				skip "--devel needs $t on the host (scripts/install-deps.sh)"
		done
	fi
}

# Files the guest checks from its side (check_host_files in workload.sh).
prepare_share() {
	local in=$share/in
	mkdir -p "$in/deep/a/b/c" "$share/.guest"
	echo "hello from host" >"$in/hello.txt"
	head -c 4194304 /dev/urandom >"$in/big.bin"
	(cd "$in" && sha256sum big.bin >big.sha256)
	ln -s hello.txt "$in/link"
	echo "two names" >"$in/hard1"
	ln "$in/hard1" "$in/hard2"
	echo leaf >"$in/deep/a/b/c/leaf"
	echo x >"$in/xattr.txt"
	setfattr -n user.host -v host-value "$in/xattr.txt" 2>/dev/null ||
		python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.host", b"host-value")' "$in/xattr.txt"
	guest_make_many "$in" "${VHOSTFS_MANY_FILES:-1000}"
	guest_stage_fio "$share" || say "no fio on the host: the guest skips its fio check"
	{
		echo "REQUIRE_XATTR=${VHOSTFS_REQUIRE_XATTR:-1}"
		echo "REQUIRE_FIO=${VHOSTFS_REQUIRE_FIO:-0}"
	} >"$share/.guest/config"
	cp "$here/workload.sh" "$share/.guest/workload.sh"
	if [ "$devel" = 1 ]; then
		cp "$here/devel.sh" "$here/devel-inner.sh" "$share/.guest/"
		guest_make_project "$in"
		# the workload's failures plus the developer steps'
		cat >"$share/.guest/run.sh" <<-'EOF'
			sh /mnt/.guest/workload.sh; a=$?
			sh /mnt/.guest/devel.sh; b=$?
			exit $((a + b))
		EOF
	else
		cp "$here/workload.sh" "$share/.guest/run.sh"
	fi
}

# The reference for --devel: the same script and tarball on the host.
devel_reference() {
	local ref=$work/hostdevel
	mkdir -p "$ref/in" "$ref/out/devel"
	cp "$share/in/project.tar.gz" "$ref/in/"
	bash "$here/devel-inner.sh" "$ref" >"$ref/log" 2>&1 ||
		{ say "the host's own run of devel-inner.sh failed:"; cat "$ref/log"; return 1; }
}

# The image back-end: make the image and copy the prepared share into it
# through a FUSE mount of it; the share is then the image only.
image_create() {
	"$VHOSTFS" mkfs "$image" --size 2G >"$work/mkfs.log" 2>&1 ||
		{ say "vhostfs mkfs failed:"; cat "$work/mkfs.log"; return 1; }
	fuse_mount "$VHOSTFSD" "$work/fill" "$work/fill.log" --image "$image" ||
		return 1
	cp -a "$share/." "$work/fill/" || { fuse_umount; return 1; }
	fuse_umount || return 1
	rm -rf "$share"
	image_fsck "after filling it" || return 1
}

image_fsck() {
	nfsck=$((${nfsck:-0} + 1))
	"$VHOSTFS" fsck "$image" >"$work/fsck.$nfsck.log" 2>&1 && return 0
	say "vhostfs fsck $image failed $1:"
	cat "$work/fsck.$nfsck.log"
	return 1
}

# --devel: the host's / read-only, as virtio-fs tag "hostroot".
start_hostroot() {
	"$VHOSTFSD" --socket-path "$work/hostroot.sock" --shared-dir / --readonly \
		--cache always >"$work/hostroot.log" 2>&1 &
	hpid=$!
	for _ in $(seq 100); do
		[ -S "$work/hostroot.sock" ] && return 0
		kill -0 "$hpid" 2>/dev/null || break
		sleep 0.1
	done
	say "vhostfsd for / did not start:"
	cat "$work/hostroot.log"
	return 1
}

stop_hostroot() {
	local rc
	kill -TERM "$hpid"
	timeout 20 tail --pid="$hpid" -f /dev/null
	wait "$hpid"
	rc=$?
	hpid=''
	[ "$rc" -eq 0 ] && return 0
	say "vhostfsd for / exited with status $rc"
	tail -n 20 "$work/hostroot.log"
	return 1
}

# Start the back-end and wait for its socket: QEMU is the socket client.
start_daemon() {
	"${daemon_cmd[@]}" >"$work/daemon.log" 2>&1 &
	dpid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	say "back-end did not create $sock: ${daemon_cmd[*]}"
	cat "$work/daemon.log"
	return 1
}

# wait_gone SECS: wait up to SECS for the back-end to exit; 1 if it did not.
wait_gone() {
	local i
	for i in $(seq $(($1 * 10))); do
		kill -0 "$dpid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# After the guest: a back-end may exit on disconnect (virtiofsd does) or
# keep serving until SIGTERM.  A non-zero exit of its own (a crash, a
# sanitizer report) or ignoring SIGTERM fails the test.
stop_daemon() {
	local rc how=disconnect
	if ! wait_gone 5; then
		how=SIGTERM
		kill -TERM "$dpid"
		if ! wait_gone 10; then
			say "back-end ignored SIGTERM for 10s: killing it"
			kill -KILL "$dpid"
			wait "$dpid"
			dpid=''
			return 1
		fi
	fi
	wait "$dpid"
	rc=$?
	dpid=''
	# 143: default action of the SIGTERM we sent.
	[ "$rc" -eq 0 ] || { [ "$how" = SIGTERM ] && [ "$rc" -eq 143 ]; } && return 0
	say "back-end exited with status $rc after $how"
	tail -n 50 "$work/daemon.log"
	return 1
}

# --- host-side checks of what the guest wrote --------------------------
hfails=0
hpasses=0

hcheck() {
	local out
	if out=$("$2" 2>&1); then
		hpasses=$((hpasses + 1))
		say "host PASS $1"
	else
		hfails=$((hfails + 1))
		say "host FAIL $1: $(echo "$out" | tr '\n' ' ')"
	fi
}

heq() {
	[ "$1" = "$2" ] && return 0
	echo "$3: got '$1', want '$2'"
	return 1
}

h_results() {
	grep -q '^DONE failed=0 ' RESULTS || { echo "workload did not finish cleanly"; return 1; }
	! grep '^FAIL' RESULTS
}

# Every file's bytes as the guest read them equal the host's bytes.
h_manifest() {
	[ -s MANIFEST.sha256 ] && sha256sum -c --quiet MANIFEST.sha256 &&
		sha256sum -c --quiet large.sha256
}

h_many() {
	sha256sum -c --quiet ../in/many.sha256
}

h_small() {
	local i
	for i in $(seq 200); do
		heq "$(cat "small/f$i")" "file $i" "small/f$i" || return 1
	done
	heq "$(find small -type f | wc -l)" 200 "small file count"
}

h_links() {
	heq "$(readlink sym_rel)" small/f1 "sym_rel" &&
		heq "$(readlink sym_abs)" /mnt/out/small/f2 "sym_abs" &&
		heq "$(readlink dangling)" does-not-exist "dangling" &&
		heq "$(stat -c %h hard_a)" 2 "hard_a nlink" &&
		heq "$(stat -c %i hard_a)" "$(stat -c %i hard_b)" "hard_a/hard_b inode" &&
		heq "$(cat hard_b)" "$(printf 'linked\nmore')" "hard_b content" &&
		heq "$(stat -c %h untar/tree/hard)" 2 "untar hard link" &&
		heq "$(readlink untar/tree/c/link)" ../a/b/n1 "untar symlink"
}

h_tree() {
	diff -r --no-dereference tree untar/tree &&
		heq "$(cat renamed)" two "renamed" &&
		heq "$(cat rdir2/sub/x)" x "renamed dir" &&
		[ ! -e ren_a ] && [ ! -e gone ] && [ ! -e gone_dir ] && [ -d notempty ] &&
		[ "$(cat par/m1/kept par/m2/kept par/m3/kept par/m4/kept)" = "$(printf 'keep\n%.0s' 1 2 3 4)" ] &&
		[ "$(find par -path 'par/m*' -type f | wc -l)" = 4 ] &&
		[ "$(sha256sum par/w* | cut -d' ' -f1 | sort -u | wc -l)" = 1 ]
}

h_attrs() {
	heq "$(stat -c %a mode.txt)" 640 "mode.txt mode" &&
		heq "$(stat -c %u:%g owned.txt)" 1234:5678 "owned.txt owner" &&
		heq "$(stat -c %Y time.txt)" 981173106 "time.txt mtime" &&
		heq "$(stat -c %F fifo)" fifo "fifo type" &&
		heq "$(stat -c %s falloc)" 1048576 "falloc size" &&
		heq "$(stat -c %s sparse)" $((16 * 1048576 + 4)) "sparse size" &&
		heq "$(tail -c 4 sparse)" end "sparse tail" &&
		heq "$(stat -c %s direct.bin)" $((5 + 3 * 4096 + 17)) "direct.bin size" &&
		heq "$(stat -c %s mmap.bin)" $((5 * 4096 + 123)) "mmap.bin size" &&
		heq "$(stat -c %s edit.txt)" 10000 "edit.txt size"
}

h_xattr() {
	if grep -q '^SKIP xattr' RESULTS; then
		say "xattrs not served by this back-end (skipped in the guest)"
		return 0
	fi
	heq "$(host_getxattr xattr.txt user.guest 2>&1)" guest-value "user.guest" &&
		! host_getxattr xattr.txt user.tmp >/dev/null 2>&1
}

# getfattr comes with the attr package; python3 can do it too.
host_getxattr() {
	if command -v getfattr >/dev/null; then
		getfattr --only-values -n "$2" "$1"
	else
		python3 -c 'import os,sys; sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$1" "$2"
	fi
}

host_checks() {
	[ -f "$share/out/RESULTS" ] || { say "host FAIL: the guest wrote no out/RESULTS"; hfails=1; return; }
	cd "$share/out" || return
	sed 's/^/e2e: guest /' RESULTS
	hcheck results h_results
	hcheck manifest h_manifest
	hcheck small h_small
	hcheck links h_links
	hcheck tree h_tree
	hcheck attrs h_attrs
	hcheck xattr h_xattr
	hcheck many h_many
	if [ "$devel" = 1 ]; then
		sed 's/^/e2e: guest devel /' devel/STEPS 2>/dev/null
		hcheck devel h_devel
	fi
	if [ "$check_queues" = 1 ]; then
		say "requests per request queue: $(queue_counts "$work/daemon.log")"
		hcheck queues h_queues
	fi
	cd "$top" || return
}

# The guest's build, program output and commits equal the host's own run
# of the same steps; the tree reads back clean and the repository checks.
h_devel() {
	local ref=$work/hostdevel/out/devel
	[ -f "$ref/RESULT" ] || { echo "no host reference (see above)"; return 1; }
	heq "$(cat devel/RESULT 2>&1)" "DONE ok" "guest's devel result" || {
		tail -n 20 devel/LOG
		return 1
	}
	cmp "$ref/output.txt" devel/output.txt &&
		cmp "$ref/SHA256SUMS" devel/SHA256SUMS &&
		heq "$(cat devel/HEAD)" "$(cat "$ref/HEAD")" "commit id" &&
		(cd devel/project && sha256sum -c --quiet ../SHA256SUMS) &&
		git -C devel/project fsck --full --strict --no-progress &&
		heq "$(git -C devel/project log --format=%H -n 1)" "$(cat "$ref/HEAD")" "git log on the host" &&
		heq "$(git -C devel/project rev-list --count HEAD)" 2 "commits"
}

# Every request queue carried requests (vhostfsd's log, see lib.sh).
h_queues() {
	local q counts n
	counts=$(queue_counts "$work/daemon.log")
	for q in $(seq "$nqueues"); do
		n=$(echo "$counts" | grep -o "q$q=[0-9]*" | cut -d= -f2)
		[ "${n:-0}" -gt 0 ] || { echo "request queue $q carried no request ($counts)"; return 1; }
	done
}

# Keep the work directory (console log, back-end log, share) on failure.
cleanup() {
	[ -n "${dpid:-}" ] && kill -KILL "$dpid" 2>/dev/null
	[ -n "${hpid:-}" ] && kill -KILL "$hpid" 2>/dev/null
	[ -n "${fuse_pid:-}" ] && { umount -l "$fuse_mnt"; kill -KILL "$fuse_pid"; } 2>/dev/null
	if [ "$keep" = 1 ] || [ "$result" = 1 ]; then
		say "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}

main() {
	local grc drc boot
	parse_args "$@"
	result=1
	work=$(mktemp -d /tmp/vhostfs-e2e.XXXXXX)
	trap cleanup EXIT
	share=$work/share
	sock=$work/vhost.sock
	image=$work/fs.img
	mkdir -p "$share"
	prerequisites
	prepare_share
	extra=()
	if [ "$devel" = 1 ]; then
		devel_reference
		start_hostroot || exit 1
		extra=(--extra-fs "$work/hostroot.sock:hostroot")
	fi
	if [ "$image_mode" = 1 ]; then
		image_create || exit 1
	fi
	start_daemon || exit 1
	"$here/run-guest.sh" --socket "$sock" --log "$work/console.log" \
		--timeout "${VHOSTFS_GUEST_TIMEOUT:-300}" "${guest_args[@]}" \
		"${extra[@]}" 2>&1 | tee "$work/run-guest.err"
	grc=${PIPESTATUS[0]}
	[ "$grc" = 77 ] && skip "guest cannot run here"
	stop_daemon 2>/dev/null # (bash's own "Killed" notices)
	drc=$?
	if [ "$devel" = 1 ]; then
		stop_hostroot 2>/dev/null || drc=1
	fi
	if [ "$image_mode" = 1 ]; then
		image_fsck "after the guest" || drc=1
		# the host checks read the image through a read-only mount
		share=$work/view
		if fuse_mount "$VHOSTFSD" "$share" "$work/view.log" --image "$image" --readonly; then
			# a read that never gets its reply must not hang the test;
			# no process of the watchdog may outlive it (meson waits
			# for whatever holds the test's output open)
			(
				trap 'kill "$s"; exit 0' TERM
				sleep 180 & s=$!
				wait "$s" && kill -KILL "$fuse_pid"
			) >/dev/null 2>&1 &
			watchdog=$!
		else
			drc=1
		fi
	fi
	host_checks
	cd "$top" || exit 1
	if [ -n "${fuse_pid:-}" ]; then
		kill "$watchdog" 2>/dev/null
		fuse_umount || { say "the read-only mount of the image failed"; drc=1; }
	fi
	boot=$(grep -o 'boot-to-mount .*' "$work/run-guest.err" || echo "boot-to-mount: unknown")
	say "$boot"
	say "guest rc=$grc, back-end $([ "$drc" = 0 ] && echo ok || echo FAILED), host checks: $hpasses passed, $hfails failed"
	[ "$grc" = 0 ] && [ "$drc" = 0 ] && [ "$hfails" = 0 ] && result=0
	if [ "$result" != 0 ]; then
		say "---- back-end log (last 40 lines) ----"
		tail -n 40 "$work/daemon.log"
	fi
	say "$([ "$result" = 0 ] && echo PASSED || echo FAILED) (back-end: ${daemon_cmd[0]})"
	exit "$result"
}

main "$@"
