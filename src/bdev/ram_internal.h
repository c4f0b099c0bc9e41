/* SPDX-License-Identifier: MIT */
/* ram_internal.h - the memory device's state, shared with its crash model. */
#ifndef VHOSTFS_RAM_INTERNAL_H
#define VHOSTFS_RAM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vhostfs/bdev.h"

/* One completed write that is not on the media yet. */
struct ram_rec {
	struct ram_rec *next;
	uint64_t off; /* bytes */
	uint64_t len;
	bool zero;    /* write_zeroes/unmap: no data follows */
	bool fua;     /* durable already: survives every power loss */
	unsigned char data[];
};

struct ram_bdev {
	struct bdev bdev;
	struct bdev_ram_config cfg;
	pthread_mutex_t lock;     /* guards everything below */
	unsigned char *cur;       /* what reads see */
	unsigned char *durable;   /* the media, without the log (cache only) */
	struct ram_rec *head;     /* the log, oldest first */
	struct ram_rec *tail;
	uint64_t pending;         /* non-FUA records in the log */
	uint64_t pending_bytes;   /* data bytes held by the log */
};

/* @b as a ram device, or NULL if it is another kind. */
struct ram_bdev *ram_bdev_get(struct bdev *b);
/* Apply [off, off + len), inside record @r, to image @img. */
void ram_rec_apply(const struct ram_rec *r, unsigned char *img, uint64_t off,
		   uint64_t len);

#endif /* VHOSTFS_RAM_INTERNAL_H */
