# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# lib.sh - shared by the integration scripts: run vhostfsd over /dev/fuse.
#
# Source it from a bash script with `set -euo pipefail`.  It makes a
# scratch directory with share/ (the host directory served) and mnt/ (the
# mount point), and gives:
#   vfs_require_root, vfs_require_tools TOOL...   skip (exit 77) when missing
#   vfs_start [vhostfsd options...]               start and wait for the mount
#   vfs_start_args OPTIONS...                      same, whole command line
#   vfs_stop                                       umount, daemon must exit 0
#   vfs_stop_signal SIG                            same, but through a signal
#   vfs_check_log                                  no sanitizer reports
#   vfs_vu_start [vhostfsd options...]             serve share/ over vhost-user
#                                                  on $VFS_SOCK (no mount)
#   vfs_vu_stop                                    SIGTERM: exit 0, socket gone
#   vfs_fail MSG / vfs_skip MSG / vfs_log MSG
#
# Two back-ends run the same scripts (VFS_BACKEND, meson registers each
# script once per back-end it applies to):
#   passthrough  (default) vhostfsd --shared-dir share/
#   image        vhostfsd --image fs.img: a sparse image made by `vhostfs
#                mkfs` at the first vfs_start; whenever the daemon has
#                exited (vfs_stop, vfs_stop_signal), `vhostfs fsck` of the
#                image must exit 0
# What a script checks "on the host side" it reads from $VFS_VIEW after
#   vfs_view       (daemon stopped) passthrough: share/ itself; image: the
#                  image exported to a fresh directory (`vhostfs export`)
#   vfs_view_live  (daemon running) passthrough: share/; image: stop the
#                  daemon (fsck), export, start it again with the same
#                  options (so what follows also reads from a fresh mount)
#   vfs_seed DIR   put DIR's contents into the file system before the
#                  first vfs_start (share/, or through a first mount)
#   vfs_passthrough_only WHY   true for passthrough; for image, logs that
#                  the part is skipped and why, and returns 1
# Environment: VHOSTFSD (the daemon binary, set by meson), VHOSTFS (the
# tool), VFS_HELPER (the C helper, set by meson), VFS_START_TIMEOUT
# (seconds, default 20), VFS_BACKEND, VFS_IMAGE_SIZE (default 2G).

VFS_NAME=$(basename "$0" .sh)

vfs_log() { echo "[$VFS_NAME] $*"; }
vfs_skip() { echo "[$VFS_NAME] SKIP: $*"; exit 77; }

vfs_fail() {
	echo "[$VFS_NAME] FAIL: $*" >&2
	if [ -n "${VFS_LOG:-}" ] && [ -s "$VFS_LOG" ]; then
		echo "[$VFS_NAME] --- vhostfsd log (last 40 lines) ---" >&2
		tail -n 40 "$VFS_LOG" >&2
	fi
	exit 1
}

vfs_require_root() {
	[ "$(id -u)" -eq 0 ] || vfs_skip "needs root (mount(2))"
	[ -c /dev/fuse ] || vfs_skip "no /dev/fuse"
	[ -n "${VHOSTFSD:-}" ] && [ -x "$VHOSTFSD" ] ||
		vfs_skip "VHOSTFSD does not name the vhostfsd binary"
	if [ "$VFS_BACKEND" = image ]; then
		[ -n "${VHOSTFS:-}" ] && [ -x "$VHOSTFS" ] ||
			vfs_skip "VHOSTFS does not name the vhostfs tool"
	fi
}

vfs_require_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || vfs_skip "$t is not installed"
	done
}

VFS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vhostfs-it.XXXXXX")
VFS_SHARE=$VFS_TMP/share
VFS_MNT=$VFS_TMP/mnt
VFS_LOG=$VFS_TMP/vhostfsd.log
VFS_SOCK=$VFS_TMP/vhost.sock
VFS_PID=
VFS_BACKEND=${VFS_BACKEND:-passthrough}
VFS_IMAGE=$VFS_TMP/fs.img
VFS_VIEW=$VFS_SHARE
VFS_ARGS=()     # the options of the last vfs_start, for vfs_view_live
VFS_NFSCK=0
VFS_NVIEW=0
case "$VFS_BACKEND" in
passthrough | image) ;;
*) echo "[$VFS_NAME] VFS_BACKEND=$VFS_BACKEND: passthrough or image" >&2; exit 1 ;;
esac
[ "$VFS_BACKEND" = image ] && VFS_NAME=${VFS_NAME}_image
mkdir -p "$VFS_SHARE" "$VFS_MNT"

vfs_is_mounted() {
	[ "$(findmnt -n -o FSTYPE -M "$VFS_MNT" 2>/dev/null | tail -n 1)" = \
		"fuse.vhostfs" ]
}

vfs_cleanup() {
	local rc=$?
	if [ -n "$VFS_PID" ] && kill -0 "$VFS_PID" 2>/dev/null; then
		kill -KILL "$VFS_PID" 2>/dev/null || true
		wait "$VFS_PID" 2>/dev/null || true
	fi
	while findmnt -M "$VFS_MNT" >/dev/null 2>&1; do
		umount -l "$VFS_MNT" 2>/dev/null || break
	done
	# never rm -rf through a mount that is still there
	if findmnt -M "$VFS_MNT" >/dev/null 2>&1; then
		echo "[$VFS_NAME] leaving $VFS_TMP: $VFS_MNT still mounted" >&2
	else
		rm -rf "$VFS_TMP"
	fi
	exit "$rc"
}
trap vfs_cleanup EXIT

# Start vhostfsd on share/ and mnt/ and wait until the mount answers.
vfs_serving_count() {
	local n
	n=$(grep -c "^vhostfsd: serving " "$VFS_LOG" 2>/dev/null) || true
	echo "${n:-0}"
}

vfs_start() {
	VFS_ARGS=("$@")
	if [ "$VFS_BACKEND" = image ]; then
		vfs_image_make
		vfs_start_args --image "$VFS_IMAGE" --fuse-mount "$VFS_MNT" "$@"
	else
		vfs_start_args --shared-dir "$VFS_SHARE" --fuse-mount "$VFS_MNT" "$@"
	fi
}

# What vhostfsd's start-up line names as served: "serving $(vfs_source) at".
vfs_source() {
	if [ "$VFS_BACKEND" = image ]; then
		echo "$VFS_IMAGE (file system 'main')"
	else
		echo "$VFS_SHARE"
	fi
}

# --- the image back-end ------------------------------------------------------

# A sparse image with a ready file system "main", made once per test.
vfs_image_make() {
	[ -e "$VFS_IMAGE" ] && return 0
	"$VHOSTFS" mkfs "$VFS_IMAGE" --size "${VFS_IMAGE_SIZE:-2G}" \
		>"$VFS_TMP/mkfs.log" 2>&1 || {
		cat "$VFS_TMP/mkfs.log" >&2
		rm -f "$VFS_IMAGE"
		vfs_fail "vhostfs mkfs $VFS_IMAGE --size ${VFS_IMAGE_SIZE:-2G} failed"
	}
}

# The daemon has exited: the image must check clean.
vfs_fsck() {
	local log
	VFS_NFSCK=$((VFS_NFSCK + 1))
	log=$VFS_TMP/fsck.$VFS_NFSCK.log
	local rc=0
	timeout -k 5 300 "$VHOSTFS" fsck "$VFS_IMAGE" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$log" >&2
		vfs_fail "vhostfs fsck $VFS_IMAGE: status $rc (after $1)"
	fi
}

# Export the stopped image into a fresh directory: VFS_VIEW.
vfs_export() {
	VFS_NVIEW=$((VFS_NVIEW + 1))
	VFS_VIEW=$VFS_TMP/view.$VFS_NVIEW
	timeout -k 5 600 "$VHOSTFS" export "$VFS_IMAGE" "$VFS_VIEW" \
		>"$VFS_TMP/export.$VFS_NVIEW.log" 2>&1 || {
		cat "$VFS_TMP/export.$VFS_NVIEW.log" >&2
		vfs_fail "vhostfs export $VFS_IMAGE $VFS_VIEW failed"
	}
}

vfs_view() {
	[ -z "$VFS_PID" ] || vfs_fail "vfs_view: the daemon is still running"
	if [ "$VFS_BACKEND" = image ]; then
		vfs_export
	else
		VFS_VIEW=$VFS_SHARE
	fi
}

vfs_view_live() {
	[ "$VFS_BACKEND" = image ] || { VFS_VIEW=$VFS_SHARE; return 0; }
	local args=("${VFS_ARGS[@]}")
	vfs_stop
	vfs_export
	vfs_start "${args[@]}"
}

vfs_seed() {
	if [ "$VFS_BACKEND" = image ]; then
		vfs_start
		cp -a "$1/." "$VFS_MNT/" || vfs_fail "cannot seed the image"
		vfs_stop
	else
		cp -a "$1/." "$VFS_SHARE/"
	fi
}

vfs_passthrough_only() {
	[ "$VFS_BACKEND" = passthrough ] && return 0
	vfs_log "not with an image: $*"
	return 1
}

# The same with the whole command line given (it must mount $VFS_MNT).
vfs_start_args() {
	local i limit=$((${VFS_START_TIMEOUT:-20} * 10)) before
	before=$(vfs_serving_count)
	"$VHOSTFSD" "$@" >>"$VFS_LOG" 2>&1 &
	VFS_PID=$!
	for ((i = 0; i < limit; i++)); do
		kill -0 "$VFS_PID" 2>/dev/null ||
			vfs_fail "vhostfsd exited during start-up"
		# our daemon has mounted (an old mount may still be there) and
		# answers (the mount exists before FUSE_INIT is answered)
		if [ "$(vfs_serving_count)" -gt "$before" ] && vfs_is_mounted &&
			timeout 5 stat -f "$VFS_MNT" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	vfs_fail "mount did not come up within ${VFS_START_TIMEOUT:-20} s"
}

# Wait (bounded) for the daemon to exit; its status must be 0.
vfs_wait_exit() {
	local i rc=0
	for ((i = 0; i < 300; i++)); do
		kill -0 "$VFS_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$VFS_PID" 2>/dev/null && vfs_fail "vhostfsd did not exit"
	wait "$VFS_PID" || rc=$?
	VFS_PID=
	[ "$rc" -eq 0 ] || vfs_fail "vhostfsd exited with status $rc"
	vfs_is_mounted && vfs_fail "$VFS_MNT is still mounted"
	vfs_check_log
	[ "$VFS_BACKEND" = passthrough ] || vfs_fsck "the daemon exited"
}

vfs_check_log() {
	if grep -E -q 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
		"$VFS_LOG"; then
		vfs_fail "sanitizer report in the vhostfsd log"
	fi
}

# Unmount as a user would; the daemon must notice and exit 0.
vfs_stop() {
	sync
	umount "$VFS_MNT" || vfs_fail "umount $VFS_MNT failed"
	vfs_wait_exit
}

# Stop through a signal (TERM, INT, ...): the daemon unmounts and exits 0.
vfs_stop_signal() {
	kill -"$1" "$VFS_PID"
	vfs_wait_exit
}

# Run a command with a time limit; a hang is a failure, not a stuck suite.
vfs_run() {
	local limit=$1
	shift
	timeout -k 5 "$limit" "$@" || vfs_fail "'$*' failed or timed out ($?)"
}

# --- vhost-user ---------------------------------------------------------------

# Start vhostfsd on share/ as a vhost-user device; wait for its socket.
vfs_vu_start() {
	local i limit=$((${VFS_START_TIMEOUT:-20} * 10))
	"$VHOSTFSD" --shared-dir "$VFS_SHARE" --socket-path "$VFS_SOCK" "$@" \
		>>"$VFS_LOG" 2>&1 &
	VFS_PID=$!
	for ((i = 0; i < limit; i++)); do
		kill -0 "$VFS_PID" 2>/dev/null ||
			vfs_fail "vhostfsd exited during start-up"
		[ -S "$VFS_SOCK" ] && return 0
		sleep 0.1
	done
	vfs_fail "no socket $VFS_SOCK within ${VFS_START_TIMEOUT:-20} s"
}

# SIGTERM: the daemon exits 0 and removes its socket.
vfs_vu_stop() {
	local i rc=0
	kill -TERM "$VFS_PID"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$VFS_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$VFS_PID" 2>/dev/null && vfs_fail "vhostfsd ignored SIGTERM"
	wait "$VFS_PID" || rc=$?
	VFS_PID=
	[ "$rc" -eq 0 ] || vfs_fail "vhostfsd exited with status $rc"
	[ ! -e "$VFS_SOCK" ] || vfs_fail "socket $VFS_SOCK left behind"
	vfs_check_log
}
