#!/bin/bash
# SPDX-License-Identifier: MIT
# `vhostfs bench` against vhostfsd, as tests/frontend/bench-virtiofsd.sh
# does against virtiofsd: smoke and verify in every descriptor layout, with
# and without indirect descriptors and EVENT_IDX, unaligned buffers, polled
# completions, several request queues; one daemon serves every run (it
# listens again after each front-end), then a --poll daemon; then short
# randread and meta runs checked for their JSON line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
[ -x "${VHOSTFS:-}" ] || vfs_skip "VHOSTFS does not name the vhostfs tool"

out=$VFS_TMP/bench.out
bench() {
	vfs_log "vhostfs bench $*"
	timeout -k 5 120 "$VHOSTFS" bench "$@" --socket "$VFS_SOCK" --timeout 20 \
		>"$out" 2>&1 || { cat "$out"; vfs_fail "vhostfs bench $*"; }
	sed 's/^/    /' "$out"
}

vfs_vu_start --queues 4 --threads 2
bench smoke
bench smoke --layout scatter --buf-offset 1000 --no-indirect
bench verify --size 8M --qd 8 --runtime 1
bench verify --size 8M --qd 8 --queues 4 --ops 8000
bench verify --size 4M --qd 4 --ops 3000 --layout scatter --buf-offset 512
bench verify --size 4M --qd 16 --ops 3000 --no-indirect --no-event-idx --layout joined
bench verify --size 8M --bs 128k --qd 4 --ops 200 --poll
bench verify --size 4M --bs 64k --qd 2 --ops 100 --buf-offset 4000
bench randread --size 4M --qd 4 --runtime 0.5 --json
grep -q '"workload":"randread".*"errors":0' "$out" || vfs_fail "bad JSON: $(cat "$out")"
bench meta --files 200 --qd 4 --json
grep -q '"workload":"meta".*"files":200' "$out" || vfs_fail "bad JSON: $(cat "$out")"
# every run was one session on the same daemon
[ "$(grep -c 'session ended:' "$VFS_LOG")" -eq 10 ] ||
	vfs_fail "expected 10 sessions: $(grep -c 'session ended:' "$VFS_LOG")"
vfs_vu_stop

# rings polled by the daemon (one busy thread), kicks suppressed
vfs_vu_start --poll --queue-depth 64
bench smoke
bench verify --size 4M --qd 8 --ops 4000
vfs_vu_stop

left=$(ls -A "$VFS_SHARE")
[ -z "$left" ] || vfs_fail "files left in the share: $left"
vfs_log "PASS"
