#!/usr/bin/env bash
# Build the test guest for tests/guest/: two Debian 12 cloud kernels and one
# busybox initramfs that serves both.
#
#   scripts/guest-image.sh [OUTDIR]        (default: var/guest in the repo)
#
# Produces OUTDIR/vmlinuz-6.1, OUTDIR/vmlinuz-6.12, OUTDIR/initramfs.cpio and
# OUTDIR/kernels.txt (which packages and `uname -r` values went in).
#
# Why these kernels: 6.1 is what Debian 12 guests run (one request queue,
# virtio and virtio-fs as modules); 6.12 spreads requests over all request
# queues and has virtio-fs built in, so it is the multiqueue guest.
# Why this initramfs: uncompressed cpio + busybox-static boots fastest under
# TCG (KVM cannot run a stock kernel on these machines).  Modules live under
# /lib/modules/<uname -r>/ with a load.list in dependency order, because the
# kernel packages ship no modules.dep and busybox insmod needs none.
#
# Idempotent: does nothing when every output is newer than this script and
# the guest sources it packs.  Downloaded .debs are kept in OUTDIR/debs.
# Overrides: VHOSTFS_KPKG_61 / VHOSTFS_KPKG_612 name the kernel packages.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/var/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)
guest_src=$top/tests/guest
inputs=("$top/scripts/guest-image.sh" "$guest_src/init.sh" "$guest_src/guest_helper.c")
outputs=("$out/vmlinuz-6.1" "$out/vmlinuz-6.12" "$out/initramfs.cpio")

# If the index moves on, the security archive drops the superseded ABI;
# the bookworm point-release kernel stays downloadable much longer.
PINNED_61=linux-image-6.1.0-50-cloud-amd64-unsigned
# The modules the guest needs; dependencies are added from the .ko files.
WANTED_MODULES="virtio virtio_ring virtio_pci fuse virtiofs"

log() { echo "guest-image: $*" >&2; }
die() { log "$*"; exit 1; }

up_to_date() {
	local o i
	for o in "${outputs[@]}"; do
		[ -f "$o" ] || return 1
		for i in "${inputs[@]}"; do
			[ "$o" -nt "$i" ] || return 1
		done
	done
}

# Package names, best first, for one kernel series.  The meta-package's
# dependency is the kernel Debian currently ships; its -unsigned twin has
# the same image and modules without the secure-boot signature.
candidates_61() {
	local dep
	[ -n "${VHOSTFS_KPKG_61:-}" ] && echo "$VHOSTFS_KPKG_61"
	dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	[ -n "$dep" ] && echo "$dep-unsigned" && echo "$dep"
	echo "$PINNED_61"
}

candidates_612() {
	local dep
	[ -n "${VHOSTFS_KPKG_612:-}" ] && echo "$VHOSTFS_KPKG_612"
	dep=$(apt-cache depends linux-image-6.12-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.12\.[^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	[ -n "$dep" ] && echo "$dep-unsigned"
	# No meta-package in the index: the newest 6.12 cloud kernel it has.
	apt-cache pkgnames linux-image-6.12. 2>/dev/null |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$' |
		sort -V | tail -n 1
}

# fetch_one PKG: the .deb of PKG in OUTDIR/debs (downloaded once).
fetch_one() {
	local pkg=$1 deb
	deb=$(ls "$out/debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		(cd "$out/debs" && apt-get download -q "$pkg" >/dev/null 2>&1) || return 1
		deb=$(ls "$out/debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
	fi
	[ -n "$deb" ] && echo "$deb"
}

# fetch_first CANDIDATE-FUNCTION: the first candidate that downloads.
fetch_first() {
	local pkg
	for pkg in $("$1"); do
		fetch_one "$pkg" && return 0
	done
	return 1
}

# fetch CANDIDATE-FUNCTION: as fetch_first, refreshing the package index
# once if nothing downloads (fresh machines have stale or empty lists).
fetch() {
	fetch_first "$1" && return 0
	log "download failed, running apt-get update"
	apt-get update -q >/dev/null 2>&1 || true
	fetch_first "$1"
}

# A static busybox: the host's if it is busybox-static, else extracted
# from the package without installing it.
busybox_static() {
	local deb
	if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
		echo /bin/busybox
		return
	fi
	deb=$(fetch_one busybox-static) ||
		{ apt-get update -q >/dev/null 2>&1; deb=$(fetch_one busybox-static); } ||
		die "cannot get busybox-static"
	dpkg-deb -x "$deb" "$tmp/busybox"
	echo "$tmp/busybox/bin/busybox"
}

# modinfo_depends KO: the module's "depends=" field.  kmod's modinfo reads
# it from a file; without kmod, read the .modinfo section directly.
modinfo_depends() {
	if command -v modinfo >/dev/null && modinfo -F depends "$1" 2>/dev/null; then
		return
	fi
	objcopy -O binary --only-section=.modinfo "$1" "$tmp/modinfo.bin"
	tr '\0' '\n' <"$tmp/modinfo.bin" | sed -n 's/^depends=//p'
}

# Copy module NAME (and first its dependencies) into the initramfs, append
# it to load.list.  Globals: moddir (kernel's tree), dest, declare -A seen.
add_module() {
	local name=$1 ko dep
	[ -n "${seen[$name]:-}" ] && return
	seen[$name]=1
	if grep -qE "/${name//_/[-_]}\.ko(\.(xz|zst))?\$" "$moddir/modules.builtin"; then
		return # built into this kernel
	fi
	ko=$(find "$moddir/kernel" -regextype egrep \
		-regex ".*/${name//_/[-_]}\.ko(\.(xz|zst))?" | head -n 1)
	[ -n "$ko" ] || die "module $name: neither built in nor shipped in $moddir"
	case "$ko" in
	*.xz) xz -dc "$ko" >"$dest/$name.ko" ;;
	*.zst) zstd -qdc "$ko" >"$dest/$name.ko" ;;
	*) cp "$ko" "$dest/$name.ko" ;;
	esac
	for dep in $(modinfo_depends "$dest/$name.ko" | tr ',' ' '); do
		add_module "$dep"
	done
	echo "$name" >>"$dest/load.list"
}

# stage_kernel DEB SERIES: extract, keep vmlinuz, stage the needed modules.
stage_kernel() {
	local deb=$1 series=$2 root=$tmp/k-$2 kver m mods=
	mkdir -p "$root"
	dpkg-deb -x "$deb" "$root"
	kver=$(basename "$(ls -d "$root"/lib/modules/*/ | head -n 1)")
	[ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || die "$deb: no kernel image"
	cp "$root/boot/vmlinuz-$kver" "$tmp/vmlinuz-$series"
	moddir=$root/lib/modules/$kver
	dest=$stage/lib/modules/$kver
	mkdir -p "$dest"
	declare -gA seen=()
	for m in $WANTED_MODULES; do
		add_module "$m"
	done
	if [ -s "$dest/load.list" ]; then
		mods=$(tr '\n' ' ' <"$dest/load.list")
	else
		rmdir "$dest"
	fi
	echo "$series $(basename "$deb" .deb) uname=$kver modules: ${mods:-none (built in)}" \
		>>"$tmp/kernels.txt"
	rm -rf "$root"
}

# The root file system: busybox with one symlink per applet in /bin, the
# static helper, /init, and a console node when we may create one.
stage_userland() {
	local bb applet
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,mnt}
	bb=$(busybox_static)
	cp "$bb" "$stage/bin/busybox"
	for applet in $("$stage/bin/busybox" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$stage/bin/$applet"
	done
	gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wmissing-prototypes \
		-Wshadow -Wvla -static -s -o "$stage/bin/vhostfs-helper" \
		"$guest_src/guest_helper.c"
	install -m 0755 "$guest_src/init.sh" "$stage/init"
	if [ "$(id -u)" = 0 ]; then
		mknod -m 600 "$stage/dev/console" c 5 1
	fi
}

# Uncompressed newc archive, files in a stable order, all owned by root.
pack_initramfs() {
	(cd "$stage" && find . | LC_ALL=C sort |
		"$stage/bin/busybox" cpio -o -H newc -R 0:0 2>/dev/null) >"$tmp/initramfs.cpio"
}

main() {
	local deb61 deb612
	if up_to_date; then
		log "up to date in $out"
		return 0
	fi
	mkdir -p "$out/debs"
	# apt's sandbox user must be able to write the download directory.
	chmod 0755 "$out/debs"
	tmp=$(mktemp -d "$out/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	stage=$tmp/root
	deb61=$(fetch candidates_61) || die "no Debian 6.1 cloud kernel could be downloaded"
	deb612=$(fetch candidates_612) || die "no Debian 6.12 cloud kernel could be downloaded"
	stage_userland
	stage_kernel "$deb61" 6.1
	stage_kernel "$deb612" 6.12
	pack_initramfs
	# Publish all outputs only once all were built.
	mv "$tmp/vmlinuz-6.1" "$tmp/vmlinuz-6.12" "$tmp/initramfs.cpio" \
		"$tmp/kernels.txt" "$out/"
	log "built in $out:"
	cat "$out/kernels.txt" >&2
}

main
