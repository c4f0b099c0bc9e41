/* SPDX-License-Identifier: MIT */
/*
 * cmd_blob.h - the subcommands of `vhostfs` on images (src/app/vhostfs.c):
 * the blobstore's (mkfs, fsck, dump, bench-blob) and the file systems'
 * (import, export, ls, cat, and the catalog: snapshot, clone, volumes,
 * delete).  Each gets argv starting at its own name and returns the exit
 * status.
 */
#ifndef VHOSTFS_APP_CMD_BLOB_H
#define VHOSTFS_APP_CMD_BLOB_H

int cmd_mkfs(int argc, char *argv[]);
int cmd_fsck(int argc, char *argv[]);
int cmd_dump(int argc, char *argv[]);
int cmd_bench_blob(int argc, char *argv[]);

int cmd_import(int argc, char *argv[]);  /* cmd_import.c */
int cmd_export(int argc, char *argv[]);  /* cmd_export.c */
int cmd_ls(int argc, char *argv[]);      /* cmd_ls.c */
int cmd_cat(int argc, char *argv[]);
int cmd_snapshot(int argc, char *argv[]); /* cmd_catalog.c */
int cmd_clone(int argc, char *argv[]);
int cmd_volumes(int argc, char *argv[]);
int cmd_delete(int argc, char *argv[]);

#endif /* VHOSTFS_APP_CMD_BLOB_H */
