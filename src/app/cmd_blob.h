/* SPDX-License-Identifier: MIT */
/*
 * cmd_blob.h - the blobstore subcommands of `vhostfs` (src/app/vhostfs.c):
 * each gets argv starting at its own name and returns the exit status.
 */
#ifndef VHOSTFS_APP_CMD_BLOB_H
#define VHOSTFS_APP_CMD_BLOB_H

int cmd_mkfs(int argc, char *argv[]);
int cmd_fsck(int argc, char *argv[]);
int cmd_dump(int argc, char *argv[]);
int cmd_bench_blob(int argc, char *argv[]);

#endif /* VHOSTFS_APP_CMD_BLOB_H */
