#!/bin/bash
# SPDX-License-Identifier: MIT
# 100k files in one directory: create, list (count), remove.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
[ -x "${VFS_HELPER:-}" ] || vfs_skip "VFS_HELPER does not name vfs_helper"

N=${VFS_MANYFILES:-100000}
vfs_start
mkdir "$VFS_MNT/big"
vfs_run 600 "$VFS_HELPER" manyfiles "$VFS_MNT/big" "$N"
rmdir "$VFS_MNT/big" || vfs_fail "big/ is not empty after removing all files"
vfs_stop
vfs_view
left=$(ls -A "$VFS_VIEW")
[ -z "$left" ] || vfs_fail "left on the host: $left"
vfs_log "PASS"
