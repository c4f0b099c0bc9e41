#!/usr/bin/env bash
# Install what building, running and testing vhostfs needs on Debian 12.
# Only missing packages are installed, so a second run costs a dpkg query.
set -euo pipefail

packages=(
	# build
	build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
	liburing-dev libisal-dev libcmocka-dev linux-libc-dev
	# integration tests and benchmarks: real clients of the file system
	fio stress-ng attr acl git tar diffutils findutils python3 util-linux
	# guest tests, make demo, bench/compare: QEMU (and Debian's virtiofsd
	# with it) and the guest's userland (scripts/guest-image.sh); the
	# guest's developer run (tests/guest/devel.sh) chroots into this host's
	# own userland for bash, gcc, make (build-essential), git and tar
	qemu-system-x86 busybox-static
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
