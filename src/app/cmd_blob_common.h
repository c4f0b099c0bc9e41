/* SPDX-License-Identifier: MIT */
/*
 * cmd_blob_common.h - what the blobstore subcommands of `vhostfs` share
 * (mkfs, fsck, dump, bench-blob): opening an image as an io_uring block
 * device, driving one reactor until a callback ran, sizes like 16G, error
 * lines and the progress line on a terminal.
 *
 * Exit statuses: bad arguments print one line and exit BT_EXIT_USAGE (2,
 * as `vhostfs bench`); mkfs, dump and bench-blob exit 1 when they fail;
 * fsck follows e2fsck (0 clean, 1 repaired, 4 errors left, 8 operational
 * error).
 */
#ifndef VHOSTFS_APP_CMD_BLOB_COMMON_H
#define VHOSTFS_APP_CMD_BLOB_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vhostfs/bdev.h"
#include "vhostfs/blob.h"
#include "vhostfs/reactor.h"

#define BT_EXIT_USAGE 2

/* How the tool locks the image against other tools (flock). */
enum bt_lock {
	BT_LOCK_SHARED = 0, /* read-only: check, dump */
	BT_LOCK_EXCLUSIVE,  /* writes: mkfs, repair, bench */
};

/* The progress line: shown only when stderr is a terminal. */
struct bt_progress {
	bool tty;
	bool shown;          /* a line is on the screen */
	const char *what;    /* "checking", ... ; NULL: no progress */
	uint64_t total;      /* bytes the step should move, 0 unknown */
	uint64_t base;       /* bytes moved before the step began */
	uint64_t start_ns;
	uint64_t last_ns;
};

struct bt_count_dev;

/* One tool run: a reactor, the device, maybe a loaded store. */
struct bt {
	const char *cmd;           /* "vhostfs fsck", for messages */
	const char *path;
	struct reactor *r;
	struct bdev *base;         /* the io_uring device */
	struct bt_count_dev *count; /* base wrapped: counts bytes moved */
	struct bdev *dev;          /* what the store is given */
	struct blob_store *bs;
	struct bt_progress prog;
	int lock_fd;
	FILE *out;                 /* stdout, clearing the progress line */
};

/* What the first two pages of an image say (no CRC check: hints only). */
struct bt_probe {
	bool magic;            /* a page carries the super block magic */
	uint32_t block_size;   /* of the newest copy; 0 if not 512/4096 */
	uint32_t cluster_size; /* of the newest copy; 0 if not valid */
	uint64_t file_bytes;   /* size of the image (file or device) */
	uint64_t store_bytes;  /* bytes the store needs, 0 if unknown */
};

/* --- arguments ------------------------------------------------------------ */

/* "4096", "512K", "16G", "1.5T" is refused; K/M/G/T (also KiB..): 1024^n. */
int bt_parse_size(const char *s, uint64_t *out);
/* A decimal or 0x number within [min, max]. */
int bt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* "1 GiB", "512 KiB": @buf of at least 32 bytes. */
const char *bt_size_str(uint64_t bytes, char *buf, size_t len);

/*
 * One line "CMD: message" on stderr (clearing the progress line first);
 * bt_usage() adds " (see CMD --help)" and returns BT_EXIT_USAGE.
 */
void bt_err(const struct bt *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int bt_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * getopt_long() (optstring starting with ':') returned '?' or ':': print
 * "unknown option" / "needs a value" for @arg and return BT_EXIT_USAGE.
 */
int bt_opt_error(const char *cmd, int c, const char *arg);
/* optarg, or for '?' and ':' the argument getopt stopped at. */
const char *bt_optarg(int c, char *argv[]);
/* What a blobstore error means for the tools' messages. */
const char *bt_strerror(int err);

/* --- the image ------------------------------------------------------------ */

/* Read the first two pages of @path; -errno if it cannot be read. */
int bt_probe_image(const char *path, struct bt_probe *out);

/*
 * Start a run on @path: reactor, lock, io_uring device with @block_size
 * (0 = the device's, 4096 for files) and @direct.  Prints its own error.
 */
int bt_open(struct bt *t, const char *cmd, const char *path,
	    uint32_t block_size, enum bdev_uring_direct direct,
	    enum bt_lock lock);
/* Undo bt_open (the store must be unloaded). */
void bt_close(struct bt *t);

/* --- running -------------------------------------------------------------- */

struct bt_wait {
	bool done;
	int err;
};

void bt_wait_cb(void *arg, int err);
/* Run the reactor until @w is done, updating the progress line; w->err. */
int bt_wait(struct bt *t, struct bt_wait *w);

/* Load / unload the store on t->dev (errors returned, not printed). */
int bt_load(struct bt *t, bool read_only);
int bt_unload(struct bt *t);

/*
 * Progress of the next bt_wait()s: "@what" with the bytes read and written
 * since now against @total_bytes (0: no percentage), drawn after half a
 * second, five times a second.  bt_progress_end() clears it.
 */
void bt_progress_begin(struct bt *t, const char *what, uint64_t total_bytes);
void bt_progress_end(struct bt *t);

/* Bytes read / written through t->dev so far. */
uint64_t bt_bytes_read(const struct bt *t);
uint64_t bt_bytes_written(const struct bt *t);

uint64_t bt_now_ns(void);

#endif /* VHOSTFS_APP_CMD_BLOB_COMMON_H */
