#!/usr/bin/env bash
# The whole test matrix behind `make check`:
#   1. gcc build: unit tests, then integration tests against real kernel mounts
#      and vhost-user front-ends, then the guest suite (QEMU guests mounting
#      the share over vhost-user; scripts/guest-image.sh builds the guest)
#   2. ASan+UBSan build: unit tests
#   3. clang build: compile everything, unit tests
#   4. libFuzzer targets (clang): a short run of each
# Ends with one line "N passed, N failed, N skipped" over all of them.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-20}
passed=0
failed=0
skipped=0

note() { printf '\n=== %s ===\n' "$*"; }

# Add the results of one `meson test` run (its JSON log) to the totals.
count_meson_log() {
	local log=$1
	[ -f "$log" ] || { failed=$((failed + 1)); return; }
	read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(p, f, s)
PY
)
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
}

# setup_build DIR [meson options...]: configure once, then build.
setup_build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log"
			return 1
		}
	fi
	ninja -C "$dir" -j "$jobs"
}

# run_suite DIR SUITE [extra meson test args]
run_suite() {
	local dir=$1 suite=$2
	shift 2
	meson test -C "$dir" --suite "$suite" --num-processes "$jobs" \
		--logbase "$suite" --print-errorlogs "$@"
	count_meson_log "$dir/meson-logs/$suite.json"
}

build_failed() {
	echo "check: build $1 failed"
	failed=$((failed + 1))
}

note "gcc build"
if setup_build build; then
	run_suite build unit
	run_suite build integration --timeout-multiplier 3
	# without a guest image (offline machine) the guest tests skip
	scripts/guest-image.sh || echo "check: no guest image: the guest suite will skip"
	run_suite build guest
else
	build_failed build
fi

note "ASan + UBSan build"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if setup_build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
	-Dbuildtype=debug; then
	run_suite build-asan unit --timeout-multiplier 4
else
	build_failed build-asan
fi

note "clang build"
if CC=clang setup_build build-clang; then
	run_suite build-clang unit
else
	build_failed build-clang
fi

note "fuzz targets (${fuzz_seconds}s each)"
if CC=clang setup_build build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false; then
	for target in build-fuzz/fuzz/*_fuzz build-fuzz/fuzz/*/*_fuzz; do
		[ -x "$target" ] || continue
		name=$(basename "$target")
		corpus="fuzz/corpus/${name%_fuzz}"
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus/." "$work/"
		if "$target" -max_total_time="$fuzz_seconds" -timeout=10 \
			-rss_limit_mb=2048 "$work" >"build-fuzz/$name.log" 2>&1; then
			echo "fuzz $name: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "build-fuzz/$name.log" || tail -n 1 "build-fuzz/$name.log"))"
			passed=$((passed + 1))
		else
			echo "fuzz $name: FAILED"
			tail -n 60 "build-fuzz/$name.log"
			failed=$((failed + 1))
		fi
		rm -rf "$work"
	done
else
	build_failed build-fuzz
fi

echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ]
