#!/bin/bash
# SPDX-License-Identifier: MIT
# git init / add / commit / status / fsck of ~3000 files on the mount.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

vfs_require_root
vfs_require_tools git

NFILES=${VFS_GIT_FILES:-3000}
vfs_start

R=$VFS_MNT/repo
mkdir "$R"
vfs_run 120 bash -c '
	cd "$1"
	for d in $(seq 0 29); do
		mkdir -p "dir$d"
		for f in $(seq 1 $(($2 / 30))); do
			echo "content of $d/$f" >"dir$d/file$f.txt"
		done
	done' _ "$R" "$NFILES"

G=(git -C "$R" -c user.name=vhostfs -c user.email=vhostfs@localhost
	-c init.defaultBranch=main -c gc.auto=0)
vfs_run 30 "${G[@]}" init -q
vfs_run 180 "${G[@]}" add -A
vfs_run 120 "${G[@]}" commit -q -m "import $NFILES files"
[ -z "$("${G[@]}" status --porcelain)" ] || vfs_fail "tree dirty after commit"
count=$("${G[@]}" ls-files | wc -l)
[ "$count" -eq $((NFILES / 30 * 30)) ] || vfs_fail "git tracks $count files"

# a change, a rename and a delete show up and commit
echo changed >>"$R/dir3/file1.txt"
"${G[@]}" mv dir4/file2.txt dir4/renamed.txt
"${G[@]}" rm -q dir5/file3.txt
[ "$("${G[@]}" status --porcelain | wc -l)" -eq 3 ] ||
	vfs_fail "status does not show the 3 changes"
vfs_run 60 "${G[@]}" commit -q -a -m "change, rename, delete"
vfs_run 180 "${G[@]}" fsck --full --strict
vfs_run 60 "${G[@]}" gc -q
vfs_run 180 "${G[@]}" fsck --full --strict

# the host side sees a valid repository too
vfs_stop
vfs_view
vfs_run 180 git -C "$VFS_VIEW/repo" fsck --full --strict
[ -z "$(git -C "$VFS_VIEW/repo" status --porcelain)" ] ||
	vfs_fail "the host side's tree is dirty"
vfs_log "PASS"
