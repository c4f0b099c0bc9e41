#!/usr/bin/env bash
# Run every libFuzzer target for FUZZ_SECONDS each, keeping the corpus in
# fuzz/corpus/<target>/ so that long runs accumulate coverage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${FUZZ_SECONDS:-600}
[ -f build-fuzz/build.ninja ] ||
	CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false
ninja -C build-fuzz
for target in build-fuzz/fuzz/*_fuzz build-fuzz/fuzz/*/*_fuzz; do
	[ -x "$target" ] || continue
	name=$(basename "$target")
	corpus="fuzz/corpus/${name%_fuzz}"
	mkdir -p "$corpus"
	echo "fuzz: $name for ${seconds}s"
	"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "$corpus"
done
