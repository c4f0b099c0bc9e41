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
count=$(find "$VFS_SHARE/big" -mindepth 1 | wc -l)
[ "$count" -eq 0 ] || vfs_fail "$count files left on the host"
rmdir "$VFS_MNT/big"
vfs_stop
vfs_log "PASS"
