#!/bin/sh
# Guest-side developer workload (busybox sh, run by the test guest's /init
# from .guest/ of the share, after workload.sh when both run): the share
# ($VHOSTFS_MNT, a vhostfsd-served image in the 'guest' suite) becomes the
# working directory of a full Debian userland.
#
# The busybox initramfs has no compiler, so a second virtio-fs device
# (tag "hostroot": the host's / served read-only by vhostfsd, see
# e2e-virtiofsd.sh --devel) is mounted on /host; the guest mounts its own
# /proc, /sys, /dev and /tmp inside it, binds the share at /host/tmp/work
# and runs .guest/devel-inner.sh there under chroot with the host's bash.
# That script unpacks in/project.tar.gz, builds it with make and gcc, runs
# the program, and makes a git repository of it; its results go to
# out/devel/ of the share for the host to compare with its own build.
# Exit status: 0 when every step passed.

M=${VHOSTFS_MNT:-/mnt}
R=/host
W=$R/tmp/work
LOG=$M/out/devel/LOG

say() { echo "devel: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

setup_chroot() {
	mkdir -p "$R" || return 1
	mount -t virtiofs hostroot "$R" || { say "cannot mount tag hostroot"; return 1; }
	[ -x "$R/bin/bash" ] || { say "no bash in the host's root"; return 1; }
	mount -t proc proc "$R/proc" && mount -t sysfs sys "$R/sys" &&
		mount -t devtmpfs dev "$R/dev" && mount -t tmpfs tmp "$R/tmp" ||
		{ say "cannot mount proc/sys/dev/tmp in the chroot"; return 1; }
	mkdir -p "$W" && mount --bind "$M" "$W" || { say "cannot bind the share"; return 1; }
}

# Unmount in reverse order so that init can sync and unmount the share.
teardown_chroot() {
	for d in "$W" "$R/tmp" "$R/dev" "$R/sys" "$R/proc" "$R"; do
		umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
	done
}

main() {
	mkdir -p "$M/out/devel" || exit 1
	setup_chroot || { teardown_chroot; exit 1; }
	say "chroot into the host's userland, working directory $W"
	chroot "$R" /usr/bin/env -i HOME=/tmp PATH=/usr/bin:/bin LC_ALL=C \
		TERM=dumb /bin/bash /tmp/work/.guest/devel-inner.sh /tmp/work \
		>"$LOG" 2>&1
	rc=$?
	sed 's/^/devel: /' "$LOG"
	say "chroot steps done (rc=$rc)"
	# the tree as read back with the guest's caches dropped
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# (busybox's sha256sum: the chroot's would be read in again first)
	if [ "$rc" -eq 0 ]; then
		(cd "$M/out/devel/project" && sha256sum -c -s ../SHA256SUMS) >>"$LOG" 2>&1 ||
			{ say "FAIL: checksums after dropping caches"; rc=1; }
		say "checksums read back"
	fi
	teardown_chroot
	say "rc=$rc"
	exit "$rc"
}

main
