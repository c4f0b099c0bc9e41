#!/bin/sh
# /init of the vhostfs test guest (packed into the initramfs by
# scripts/guest-image.sh; runs under busybox sh as PID 1).
#
# It mounts the virtio-fs share, runs one script from it under a watchdog,
# prints a result marker on the console and powers off.  Parameters come
# from the kernel command line (names with a dot are not passed to init, so
# they are read from /proc/cmdline):
#   vhostfs.tag=TAG          virtio-fs tag to mount (default: share)
#   vhostfs.run=PATH         script to run, normally /mnt/.guest/run.sh
#   vhostfs.timeout=SECS     watchdog for the script (default: 120)
#   vhostfs.mount_timeout=S  how long the back-end may take to answer (default: 15)
#
# Console markers (host-side tests/guest/run-guest.sh parses them):
#   VHOSTFS-GUEST-MOUNTED: tag=T uptime=SECS kernel=VER
#   VHOSTFS-GUEST-UMOUNT: ok|failed|timeout
#   VHOSTFS-GUEST-RESULT: rc=N (reason)
# rc is the script's exit status, or one of:
#   120 a module failed to load     121 mount(2) failed
#   122 the share did not answer    123 the script does not exist
#   124 the script's watchdog fired 125 script passed but sync/umount failed
#
# A stuck back-end blocks every process that touches the share, and some of
# those waits cannot be killed (sync, FUSE_DESTROY at umount).  So PID 1 never
# touches the share itself: each step runs in a child that we wait for with
# a deadline, and we power off without syncing if a child is stuck.

PATH=/bin
export PATH

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# The initramfs may have been built without /dev/console (non-root build);
# make sure our output reaches the serial console either way.
exec 0</dev/console 1>/dev/console 2>&1
mkdir -p /tmp /mnt
mount -t tmpfs tmp /tmp

tag=share
run=
timeout=120
mount_timeout=15

# Markers go through the kernel log at KERN_CRIT: printk writes to the
# console synchronously and even with "quiet", while tty output can still
# sit in the UART buffer when we power off.
marker() {
	echo "<2>$*" >/dev/kmsg
}

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# Progress on the console, with the guest's uptime, so that a hang shows
# which step it happened in.
step() {
	echo "guest: [$(uptime_s)] $*"
}

# Leave now: report RC and power off without sync (sync could hang on a
# stuck back-end).  If poweroff fails, sysrq does it; if that fails too,
# returning from PID 1 panics, and panic=-1 plus -no-reboot ends QEMU.
finish() {
	marker "VHOSTFS-GUEST-RESULT: rc=$1 ($2)"
	poweroff -n -f
	echo o >/proc/sysrq-trigger
	sleep 5
	exit "$1"
}

parse_cmdline() {
	for word in $(cat /proc/cmdline); do
		case "$word" in
		vhostfs.tag=*) tag=${word#*=} ;;
		vhostfs.run=*) run=${word#*=} ;;
		vhostfs.timeout=*) timeout=${word#*=} ;;
		vhostfs.mount_timeout=*) mount_timeout=${word#*=} ;;
		esac
	done
}

# Modules for this kernel, in dependency order (written by guest-image.sh).
# A kernel with the drivers built in has no list.
load_modules() {
	dir=/lib/modules/$(uname -r)
	[ -f "$dir/load.list" ] || return 0
	step "loading modules for $(uname -r)"
	while read -r mod; do
		insmod "$dir/$mod.ko" || finish 120 "insmod $mod failed"
	done <"$dir/load.list"
}

# now=uptime in centiseconds.  Deadlines use the clock, not a count of
# sleeps: under a loaded TCG host every fork takes long and counts drift.
# "read" is a builtin, so this forks nothing.
uptime_cs() {
	read -r up _ </proc/uptime
	now=$((${up%.*} * 100 + 1${up#*.} - 100))
}

# bounded SECS CMD...: run CMD in a child, wait at most SECS for it.
# Returns CMD's status, or 124 when the deadline passed (the child is left
# behind: it may be in an unkillable wait on the share).
bounded() {
	uptime_cs
	end=$((now + $1 * 100))
	shift
	rm -f /tmp/bounded.rc
	("$@"; echo $? >/tmp/bounded.rc.new; mv /tmp/bounded.rc.new /tmp/bounded.rc) &
	while [ ! -f /tmp/bounded.rc ]; do
		uptime_cs
		[ "$now" -ge "$end" ] && return 124
		usleep 20000
	done
	return "$(cat /tmp/bounded.rc)"
}

# The virtio device may still be probing when we get here; retry for 5 s.
mount_share() {
	step "mounting virtiofs tag $tag"
	uptime_cs
	end=$((now + 500))
	until mount -t virtiofs "$tag" /mnt 2>/tmp/mount.err; do
		uptime_cs
		if [ "$now" -ge "$end" ]; then
			cat /tmp/mount.err
			finish 121 "mount -t virtiofs $tag failed"
		fi
		usleep 50000
	done
}

# mount(2) returns before FUSE_INIT is answered; the first stat waits for
# the reply, so a bounded stat proves the back-end is serving requests.
check_share() {
	step "waiting for the back-end (FUSE_INIT)"
	bounded "$mount_timeout" stat -f /mnt >/dev/null
	rc=$?
	[ "$rc" -eq 124 ] && finish 122 "share did not answer within ${mount_timeout}s"
	[ "$rc" -ne 0 ] && finish 122 "stat -f /mnt failed ($rc)"
	marker "VHOSTFS-GUEST-MOUNTED: tag=$tag uptime=$(uptime_s) kernel=$(uname -r)"
}

# The script inherits the console; VHOSTFS_MNT tells it where the share is.
# busybox timeout kills it at the deadline; bounded() is the backstop for a
# child stuck in an unkillable wait.
run_script() {
	[ -n "$run" ] || finish 123 "no vhostfs.run= on the kernel command line"
	bounded 10 test -f "$run" || finish 123 "script $run not found"
	step "running $run (watchdog ${timeout}s)"
	bounded $((timeout + 5)) timeout -s KILL "$timeout" \
		env VHOSTFS_MNT=/mnt sh -c 'cd /mnt && exec sh "$0"' "$run"
	script_rc=$?
	# busybox timeout reports a kill as 128+9.
	[ "$script_rc" -eq 137 ] && script_rc=124
}

# Flush and unmount (sends FUSE_DESTROY) so that the host sees every byte
# and the back-end's shutdown path is exercised too.
unmount_share() {
	step "sync and umount"
	bounded 30 sync
	sync_rc=$?
	bounded 30 umount /mnt
	umount_rc=$?
	case "$umount_rc" in
	0) marker "VHOSTFS-GUEST-UMOUNT: ok" ;;
	124) marker "VHOSTFS-GUEST-UMOUNT: timeout" ;;
	*) marker "VHOSTFS-GUEST-UMOUNT: failed" ;;
	esac
}

parse_cmdline
load_modules
mount_share
check_share
run_script
[ "$script_rc" -eq 124 ] && finish 124 "script watchdog fired after ${timeout}s"
unmount_share
if [ "$script_rc" -eq 0 ] && { [ "$sync_rc" -ne 0 ] || [ "$umount_rc" -ne 0 ]; }; then
	finish 125 "sync rc=$sync_rc umount rc=$umount_rc"
fi
finish "$script_rc" "script exit status"
