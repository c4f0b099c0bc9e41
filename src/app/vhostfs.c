// SPDX-License-Identifier: MIT
/*
 * vhostfs.c - the `vhostfs` tool: one binary, one subcommand per job.
 *
 * Subcommands live in one table; each gets argv starting at its own name.
 * bench is the vhost-user front-end of src/frontend (include/vhostfs/
 * bench.h); mkfs, fsck, dump, import, export, ls, cat, volumes,
 * snapshot, clone and delete work on images (cmd_*.c); bench-blob,
 * the blob-level benchmark behind bench/blob, is hidden from the help.
 * Bad arguments exit 2 in every subcommand.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd_blob.h"
#include "vhostfs/bench.h"

#ifndef VHOSTFS_VERSION
#define VHOSTFS_VERSION "unknown"
#endif

struct vhostfs_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char *argv[]);
	bool hidden; /* not listed by help */
};

static int vhostfs_cmd_help(int argc, char *argv[]);
static int vhostfs_cmd_version(int argc, char *argv[]);

static const struct vhostfs_cmd vhostfs_cmds[] = {
	{ "bench", "drive a virtio-fs daemon over vhost-user (vhostfs bench "
		   "--help)", bench_main },
	{ "mkfs", "make an image: a blobstore with the file system main",
	  cmd_mkfs },
	{ "fsck", "check (and --repair) an image: the store, every file "
		  "system", cmd_fsck },
	{ "dump", "print a blobstore image: super block, blobs, xattrs",
	  cmd_dump },
	{ "import", "copy a host directory tree into an image", cmd_import },
	{ "export", "copy a tree of an image out to a host directory",
	  cmd_export },
	{ "ls", "list a directory of an image", cmd_ls },
	{ "cat", "write files of an image to stdout", cmd_cat },
	{ "volumes", "list the file systems of an image", cmd_volumes },
	{ "snapshot", "take a read-only snapshot of a file system",
	  cmd_snapshot },
	{ "clone", "make a writable clone of a snapshot", cmd_clone },
	{ "delete", "delete a file system, snapshot or clone of an image",
	  cmd_delete },
	{ "bench-blob", "blob-level I/O benchmark (bench/blob)",
	  cmd_bench_blob, true },
	{ "help", "show this help", vhostfs_cmd_help },
	{ "version", "print the version", vhostfs_cmd_version },
};

#define VHOSTFS_NCMDS (sizeof(vhostfs_cmds) / sizeof(vhostfs_cmds[0]))

static void vhostfs_usage(FILE *f)
{
	fputs("Usage: vhostfs COMMAND [ARGS...]\n"
	      "       vhostfs --help | --version\n\nCommands:\n", f);
	for (size_t i = 0; i < VHOSTFS_NCMDS; i++) {
		if (!vhostfs_cmds[i].hidden)
			fprintf(f, "  %-12s %s\n", vhostfs_cmds[i].name,
				vhostfs_cmds[i].summary);
	}
	fputs("\nThe daemon that serves a share is vhostfsd (see vhostfsd "
	      "--help).\n", f);
}

static int vhostfs_cmd_help(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	vhostfs_usage(stdout);
	return 0;
}

static int vhostfs_cmd_version(int argc, char *argv[])
{
	(void)argc;
	(void)argv;
	printf("vhostfs %s\n", VHOSTFS_VERSION);
	return 0;
}

static const struct vhostfs_cmd *vhostfs_cmd_find(const char *name)
{
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
		name = "help";
	else if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
		name = "version";
	for (size_t i = 0; i < VHOSTFS_NCMDS; i++) {
		if (strcmp(vhostfs_cmds[i].name, name) == 0)
			return &vhostfs_cmds[i];
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	const struct vhostfs_cmd *cmd;

	if (argc < 2) {
		vhostfs_usage(stderr);
		return 1;
	}
	cmd = vhostfs_cmd_find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "vhostfs: unknown command '%s' (see vhostfs "
			"--help)\n", argv[1]);
		return 1;
	}
	return cmd->run(argc - 1, argv + 1);
}
