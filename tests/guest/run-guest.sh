#!/usr/bin/env bash
# Boot the test guest (scripts/guest-image.sh) against a vhost-user-fs
# back-end that is ALREADY listening on SOCK, run one script in the guest
# and exit with that script's status.
#
#   run-guest.sh --socket SOCK [--share DIR --script FILE] [options]
#
#   --socket SOCK     back-end's vhost-user socket (QEMU connects as client)
#   --share DIR       the directory the back-end serves (needed by --script)
#   --script FILE     copied to DIR/.guest/run.sh and run by the guest's /init
#                     (without it, DIR/.guest/run.sh must already exist)
#   --kernel 6.1|6.12 guest kernel (default 6.1; 6.12 uses all request queues)
#   --queues N        num-request-queues of the device (default 1)
#   --smp N           guest vCPUs (default 1)
#   --mem MB          guest RAM (default 512)
#   --hugepages       guest RAM from hugetlbfs (skip with 77 if none can be had)
#   --timeout S       host watchdog: SIGKILL QEMU after S seconds (default 180)
#   --tag TAG         virtio-fs tag (default share)
#   --extra-fs SOCK:TAG  one more vhost-user-fs device (its back-end already
#                     listening on SOCK); the guest script mounts TAG itself.
#                     May be given more than once.
#   --images DIR      where guest-image.sh put its output (default var/guest)
#   --log FILE        keep the console log there
#   --pidfile FILE    write QEMU's pid there once it runs (for tests that
#                     kill it mid-I/O; the run then ends with 126)
#   --append ARGS     extra kernel command line
#   --verbose         full kernel log on the console (slower boot: no "quiet")
#
# Exit status: the guest script's (see tests/guest/init.sh for 120-125, the
# guest-side failures before/after the script), 77 if QEMU, the kernel or
# hugepages are unavailable, 2 for bad usage, 126 if the guest never printed
# a result (crash, hang, host watchdog).  The console log is printed on any
# failure.  Boot-to-mount time is printed as "run-guest: boot-to-mount ...".
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
exec 3>&2 # messages; see run_qemu
sock='' share='' script='' kernel=6.1 queues=1 smp=1 mem=512 hugepages=0
timeout=180 tag=share images=${VHOSTFS_GUEST_IMAGES:-$top/var/guest}
keep_log='' append='' verbose=0 pidfile=''
extra_fs=()

say() { echo "run-guest: $*" >&3; }
usage() { sed -n '2,/^set /p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
skip() { say "SKIP: $*"; exit 77; }

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--socket) sock=${2-}; shift ;;
		--share) share=${2-}; shift ;;
		--script) script=${2-}; shift ;;
		--kernel) kernel=${2-}; shift ;;
		--queues) queues=${2-}; shift ;;
		--smp) smp=${2-}; shift ;;
		--mem) mem=${2-}; shift ;;
		--hugepages) hugepages=1 ;;
		--timeout) timeout=${2-}; shift ;;
		--tag) tag=${2-}; shift ;;
		--extra-fs) extra_fs+=("${2-}"); shift ;;
		--images) images=${2-}; shift ;;
		--log) keep_log=${2-}; shift ;;
		--pidfile) pidfile=${2-}; shift ;;
		--append) append=${2-}; shift ;;
		--verbose) verbose=1 ;;
		-h | --help) usage ;;
		*) say "unknown option $1"; usage ;;
		esac
		shift || usage
	done
	[ -n "$sock" ] || usage
	[ -z "$script" ] || [ -n "$share" ] || { say "--script needs --share"; usage; }
	case "$kernel" in 6.1 | 6.12) ;; *) say "--kernel 6.1|6.12"; usage ;; esac
	for n in "$queues" "$smp" "$mem" "$timeout"; do
		case "$n" in '' | *[!0-9]* | 0) say "not a positive number: '$n'"; usage ;; esac
	done
}

# Everything the run needs, or exit 77 (this machine cannot run guests).
check_prerequisites() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	vmlinuz=$images/vmlinuz-$kernel
	initrd=$images/initramfs.cpio
	if [ ! -f "$vmlinuz" ] || [ ! -f "$initrd" ]; then
		skip "no guest image in $images (run scripts/guest-image.sh)"
	fi
	[ -S "$sock" ] || { say "no back-end listening on $sock"; exit 126; }
	for x in "${extra_fs[@]}"; do
		case "$x" in
		?*:?*) [ -S "${x%:*}" ] || { say "no back-end listening on ${x%:*}"; exit 126; } ;;
		*) say "--extra-fs SOCK:TAG, not '$x'"; usage ;;
		esac
	done
}

# Hugepages: reserve what the guest needs if the pool is short (root only),
# and mount hugetlbfs if nobody has.  Both are undone by cleanup().
hp_saved='' hp_mount=''
setup_hugepages() {
	local need free total dir
	need=$((mem * 1024 / $(awk '/^Hugepagesize:/{print $2}' /proc/meminfo)))
	free=$(awk '/^HugePages_Free:/{print $2}' /proc/meminfo)
	if [ "$free" -lt "$need" ]; then
		total=$(cat /proc/sys/vm/nr_hugepages)
		hp_saved=$total
		echo $((total + need - free)) >/proc/sys/vm/nr_hugepages 2>/dev/null
		free=$(awk '/^HugePages_Free:/{print $2}' /proc/meminfo)
		[ "$free" -ge "$need" ] || skip "cannot reserve $need hugepages (have $free)"
	fi
	dir=$(awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts)
	if [ -z "$dir" ]; then
		hp_mount=$(mktemp -d /tmp/vhostfs-huge.XXXXXX)
		mount -t hugetlbfs none "$hp_mount" || skip "cannot mount hugetlbfs"
		dir=$hp_mount
	fi
	mem_backend="memory-backend-file,id=mem,size=${mem}M,mem-path=$dir,share=on"
}

cleanup() {
	[ -n "${qpid:-}" ] && kill -KILL "$qpid" 2>/dev/null
	[ -n "$hp_mount" ] && umount "$hp_mount" 2>/dev/null && rmdir "$hp_mount"
	[ -n "$hp_saved" ] && echo "$hp_saved" >/proc/sys/vm/nr_hugepages 2>/dev/null
	[ -n "${work:-}" ] && rm -rf "$work"
}

# The guest's script watchdog fires well before ours, so that a slow script
# still gets reported by the guest (with its output) instead of being cut.
guest_timeout() {
	local t=$((timeout - 40))
	[ "$t" -lt $((timeout / 2)) ] && t=$((timeout / 2))
	echo "$t"
}

# Guest RAM must be shareable with the back-end (it maps it from the fds
# QEMU sends); -nodefaults drops the NIC and VGA that only slow the boot.
build_cmdline() {
	local dev="vhost-user-fs-pci,chardev=char0,tag=$tag,queue-size=1024"
	local cmd="console=ttyS0 panic=-1 vhostfs.tag=$tag"
	[ "$queues" -gt 1 ] && dev="$dev,num-request-queues=$queues"
	[ "$verbose" = 1 ] || cmd="$cmd quiet"
	cmd="$cmd vhostfs.run=/mnt/.guest/run.sh vhostfs.timeout=$(guest_timeout) $append"
	extra_argv=()
	for i in "${!extra_fs[@]}"; do
		# shellcheck disable=SC2054
		extra_argv+=(-chardev "socket,id=xfs$i,path=${extra_fs[$i]%:*}"
			-device "vhost-user-fs-pci,chardev=xfs$i,tag=${extra_fs[$i]##*:},queue-size=1024")
	done
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	qemu_argv=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max
		-machine q35,memory-backend=mem -m "${mem}M" -smp "$smp"
		-object "$mem_backend"
		-chardev "socket,id=char0,path=$sock" -device "$dev"
		"${extra_argv[@]}"
		-kernel "$vmlinuz" -initrd "$initrd" -append "$cmd"
		-nodefaults -nographic -serial stdio -no-reboot)
}

now_us() { echo "${EPOCHREALTIME/./}"; }
seconds() { printf '%d.%02d' $(($1 / 1000000)) $(($1 % 1000000 / 10000)); }

# Run QEMU with the console in $log; note when the share is mounted; kill
# QEMU at the deadline, or if it has not exited 10 s after the result (the
# guest may be stuck powering off on a dead back-end).
run_qemu() {
	local start
	killed=
	start=$(now_us)
	"${qemu_argv[@]}" </dev/null >"$log" 2>"$work/qemu.err" &
	qpid=$!
	[ -z "$pidfile" ] || echo "$qpid" >"$pidfile"
	# bash reports a SIGKILLed background job on stderr wherever it reaps
	# it; our own messages go to fd 3 instead.
	poll_qemu "$start" 2>/dev/null
	qpid=
	elapsed_us=$(($(now_us) - start))
}

poll_qemu() {
	local start=$1 deadline t result_at=
	deadline=$((start + timeout * 1000000))
	while kill -0 "$qpid" 2>/dev/null; do
		t=$(now_us)
		if [ -z "$mounted_us" ] && grep -aq 'VHOSTFS-GUEST-MOUNTED' "$log"; then
			mounted_us=$((t - start))
		fi
		if [ -z "$result_at" ] && grep -aq 'VHOSTFS-GUEST-RESULT' "$log"; then
			result_at=$t
		fi
		if [ -n "$killed" ]; then
			:
		elif [ "$t" -gt "$deadline" ]; then
			say "host watchdog: killing QEMU after ${timeout}s"
			kill -KILL "$qpid"
			killed=watchdog
		elif [ -n "$result_at" ] && [ $((t - result_at)) -gt 10000000 ]; then
			say "QEMU still running 10s after the result: killing it"
			kill -KILL "$qpid"
			killed=late
		fi
		sleep 0.05
	done
	wait "$qpid"
	qemu_rc=$?
}

show_failure() {
	say "---- console log ----"
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$log" >&2
	say "---- qemu stderr (exit $qemu_rc) ----"
	cat "$work/qemu.err" >&2
	say "---- end ----"
}

# Boot time as the host sees it (QEMU start to the guest's mount marker),
# and as the guest sees it (its uptime when the share answered).
report_timing() {
	local up
	up=$(grep -ao 'VHOSTFS-GUEST-MOUNTED: .*uptime=[0-9.]*' "$log" | sed 's/.*uptime=//' | head -n 1)
	if [ -n "$mounted_us" ]; then
		say "boot-to-mount $(seconds "$mounted_us") s (guest uptime ${up} s), total $(seconds "$elapsed_us") s, kernel $kernel"
	fi
}

main() {
	local rc
	parse_args "$@"
	check_prerequisites
	work=$(mktemp -d /tmp/vhostfs-guest.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	log=${keep_log:-$work/console.log}
	mem_backend="memory-backend-memfd,id=mem,size=${mem}M,share=on"
	[ "$hugepages" = 1 ] && setup_hugepages
	if [ -n "$script" ]; then
		mkdir -p "$share/.guest"
		cp "$script" "$share/.guest/run.sh"
	fi
	build_cmdline
	mounted_us=
	run_qemu
	report_timing
	rc=$(grep -ao 'VHOSTFS-GUEST-RESULT: rc=[0-9]*' "$log" | tail -n 1 | sed 's/.*rc=//')
	if [ -z "$rc" ]; then
		rc=126
		if [ "$killed" = watchdog ] && ! grep -aq 'Linux version\|guest:' "$log"; then
			say "no result: the guest never started (QEMU waits for the back-end's vhost-user replies before booting)"
		elif [ -z "$killed" ] && [ "$qemu_rc" != 0 ]; then
			say "no result: QEMU failed (exit $qemu_rc, see its stderr below)"
		elif [ -z "$mounted_us" ]; then
			say "no result: the guest did not get the share mounted"
		else
			say "no result from the guest after mounting (hung or crashed)"
		fi
	fi
	say "guest result: rc=$rc$(grep -ao 'VHOSTFS-GUEST-RESULT: rc=[0-9]* (.*)' "$log" | tail -n 1 | sed 's/.*rc=[0-9]*//')"
	[ "$rc" = 0 ] || show_failure
	return "$rc"
}

main "$@"
