#!/bin/bash
# SPDX-License-Identifier: MIT
# fio-devfuse.sh - vhostfsd over /dev/fuse against the host directory itself.
#
# Usage: bench/fio-devfuse.sh [--write-doc] [VHOSTFSD]
#   VHOSTFSD defaults to $VHOSTFSD or build/src/app/vhostfsd.
#   --write-doc replaces the "## /dev/fuse passthrough vs host directory"
#   section of docs/BENCHMARKS.md with this run's table.
# Environment: BENCH_RUNTIME (seconds per data job, default 8),
#   BENCH_SIZE (data file, default 256m), BENCH_FILES (metadata jobs,
#   default 5000), BENCH_CACHE (vhostfsd --cache, default never),
#   BENCH_DIRECT (1: O_DIRECT on both sides, default 0), BENCH_DIR (where
#   the scratch directory goes, default /var/tmp).
#
# Each job runs on the host directory and on the mount of that same
# directory, one right after the other (the order alternates from job to
# job), so both see the same disk, page cache and CPU load.  Needs root,
# fio and jq.  Takes about 3-4 minutes with the defaults.
set -euo pipefail

WRITE_DOC=0
if [ "${1:-}" = --write-doc ]; then
	WRITE_DOC=1
	shift
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VHOSTFSD=${1:-${VHOSTFSD:-$ROOT/build/src/app/vhostfsd}}
RUNTIME=${BENCH_RUNTIME:-8}
SIZE=${BENCH_SIZE:-256m}
FILES=${BENCH_FILES:-5000}
CACHE=${BENCH_CACHE:-never}
DIRECT=${BENCH_DIRECT:-0}

die() { echo "fio-devfuse: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (mount(2))"
[ -x "$VHOSTFSD" ] || die "no vhostfsd at $VHOSTFSD (build it, or pass it)"
command -v fio >/dev/null || die "fio is not installed"
command -v jq >/dev/null || die "jq is not installed"

TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vhostfs-bench.XXXXXX")
HOST=$TMP/host
MNT=$TMP/mnt
PID=
mkdir -p "$HOST" "$MNT"

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		wait "$PID" || true
	fi
	umount -l "$MNT" 2>/dev/null || true
	findmnt -M "$MNT" >/dev/null 2>&1 || rm -rf "$TMP"
}
trap cleanup EXIT

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
"$VHOSTFSD" --shared-dir "$HOST" --fuse-mount "$MNT" --cache="$CACHE" \
	--log-level warn >"$TMP/vhostfsd.log" 2>&1 &
PID=$!
for ((i = 0; i < 100; i++)); do
	kill -0 "$PID" 2>/dev/null || die "vhostfsd exited: $(cat "$TMP/vhostfsd.log")"
	findmnt -M "$MNT" >/dev/null 2>&1 && timeout 5 stat "$MNT" >/dev/null &&
		break
	sleep 0.1
done
[ "$i" -lt 100 ] || die "mount did not come up"

# fio DIR OUT args... -> JSON in OUT
run_fio() {
	local dir=$1 out=$2
	shift 2
	timeout -k 5 $((RUNTIME * 4 + 120)) fio --directory="$dir" \
		--output-format=json --output="$out" "$@" >/dev/null ||
		die "fio failed on $dir: $*"
}

# "IOPS [MiB/s] [mean latency us]" of a result, for the table
metric() {
	jq -r '.jobs[0] | (.read.iops + .write.iops) as $iops
		| ((.read.bw_bytes + .write.bw_bytes) / 1048576) as $mib
		| ([.read, .write] | map(select(.iops > 0)) | .[0].lat_ns.mean
		   // 0) as $lat
		| "\($iops|floor) \($mib*10|floor/10) \($lat/1000*10|floor/10)"' "$1"
}

ROWS=()
N=0

# job LABEL SHOW(iops|mib) SUBDIR fio-args...
# SUBDIR "": both sides use the same data file; else each side gets its own
# directory SUBDIR-host / SUBDIR-fuse (metadata jobs must not share names).
job() {
	local label=$1 show=$2 sub=$3 first second a b side dir unit ratio
	shift 3
	if [ $((N % 2)) -eq 0 ]; then first=host; second=fuse; else
		first=fuse; second=host; fi
	N=$((N + 1))
	for side in $first $second; do
		dir=$HOST
		[ "$side" = fuse ] && dir=$MNT
		if [ -n "$sub" ]; then
			dir=$dir/$sub-$side
			mkdir -p "$dir"
		fi
		run_fio "$dir" "$TMP/$N-$side.json" "$@"
	done
	read -r hi hm hl <<<"$(metric "$TMP/$N-host.json")"
	read -r fu fm fl <<<"$(metric "$TMP/$N-fuse.json")"
	case $show in
	iops) a=$hi; b=$fu; unit="IOPS" ;;
	*) a=$hm; b=$fm; unit="MiB/s" ;;
	esac
	ratio=$(awk -v a="$a" -v b="$b" \
		'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }')
	# fio reports no latency for the file* engines
	[ "$hl" = 0 ] && hl= || hl=" ($hl us)"
	[ "$fl" = 0 ] && fl= || fl=" ($fl us)"
	ROWS+=("| $label | $a $unit$hl | $b $unit$fl | $ratio |")
	echo "  $label: host $a, fuse $b $unit (fuse/host $ratio)" >&2
}

# One data file, written once and kept in the host page cache, so that the
# data jobs compare the two paths to that cache, not the disk.
run_fio "$HOST" "$TMP/layout.json" --name=layout --filename=data \
	--size="$SIZE" --rw=write --bs=1m --ioengine=psync
cat "$HOST/data" >/dev/null
DATA=(--filename=data --size="$SIZE" --direct="$DIRECT" --time_based
	--runtime="$RUNTIME" --ramp_time=1 --ioengine=io_uring --invalidate=0)

echo "fio-devfuse: host dir vs /dev/fuse mount of it (cache=$CACHE, direct=$DIRECT)" >&2
job "4 KiB randread QD1" iops "" --name=rr1 "${DATA[@]}" --rw=randread --bs=4k --iodepth=1
job "4 KiB randread QD32" iops "" --name=rr32 "${DATA[@]}" --rw=randread --bs=4k --iodepth=32
job "4 KiB randwrite QD1" iops "" --name=rw1 "${DATA[@]}" --rw=randwrite --bs=4k --iodepth=1
job "4 KiB randwrite QD32" iops "" --name=rw32 "${DATA[@]}" --rw=randwrite --bs=4k --iodepth=32
job "128 KiB seq read QD4" mib "" --name=sr "${DATA[@]}" --rw=read --bs=128k --iodepth=4
job "128 KiB seq write QD4" mib "" --name=sw "${DATA[@]}" --rw=write --bs=128k --iodepth=4

META=(--nrfiles="$FILES" --filesize=4k --openfiles=1 --bs=4k
	--filename_format='meta.$filenum')
job "create ($FILES files)" iops meta --name=meta --ioengine=filecreate \
	--fallocate=none --rw=write "${META[@]}"
job "stat ($FILES files)" iops meta --name=meta --ioengine=filestat \
	--rw=read "${META[@]}"
job "unlink ($FILES files)" iops meta --name=meta --ioengine=filedelete \
	--rw=read "${META[@]}"

kill -TERM "$PID"
wait "$PID" || die "vhostfsd exited with $?"
PID=

KERNEL=$(uname -r)
CPUS=$(nproc)
FIOV=$(fio --version)
TABLE=$(
	echo "| job | host directory | /dev/fuse mount | fuse/host |"
	echo "|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
)
SECTION=$(
	cat <<EOF
## /dev/fuse passthrough vs host directory

Run of \`bench/fio-devfuse.sh\` on $(date -u +%Y-%m-%d): kernel $KERNEL,
$CPUS CPUs, $FIOV, vhostfsd defaults (2 reactor threads, queue depth 16)
with \`--cache=$CACHE\`; fio with \`direct=$DIRECT\`, io_uring for the data
jobs (${RUNTIME} s each after a 1 s ramp, on one $SIZE file kept in the
host page cache), fio's filecreate / filestat / filedelete engines for the
metadata jobs.  Values: IOPS or MiB/s, mean completion latency in brackets
(fio has none for the metadata engines).
Host and mount jobs alternate, on the same directory ($(df -T "$HOST" |
awk 'NR == 2 { print $2 }')); load average at the start: $LOAD.

$TABLE

What it measures: with \`--cache=never\` every read and write crosses
/dev/fuse to vhostfsd, which does it on the host file (through the host
page cache); the host column is the same fio job on the directory itself.
So the ratio is the cost of the FUSE round trip plus the daemon, not of a
guest.  These are numbers from a small shared VM: compare ratios, not
absolute values.
EOF
)
echo
echo "$TABLE"

if [ "$WRITE_DOC" -eq 1 ]; then
	DOC=$ROOT/docs/BENCHMARKS.md
	[ -f "$DOC" ] || printf '# Benchmarks\n' >"$DOC"
	# replace our section (up to the next "## " heading) or append it
	SECTION=$SECTION awk '
		/^## \/dev\/fuse passthrough vs host directory/ {
			print ENVIRON["SECTION"]; skip = 1; done = 1; next }
		skip && /^## / { skip = 0; print "" }
		!skip { print }
		END { if (!done) { print ""; print ENVIRON["SECTION"] } }' \
		"$DOC" >"$DOC.new"
	mv "$DOC.new" "$DOC"
	echo "fio-devfuse: wrote $DOC" >&2
fi
