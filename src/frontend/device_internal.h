/* SPDX-License-Identifier: MIT */
/*
 * device_internal.h - a virtio-fs device as QEMU and the guest see it.
 *
 * fe_dev_connect() negotiates like QEMU 7.2 at start-up; fe_dev_start() does
 * what QEMU does when the guest driver starts the device (memory table,
 * rings, enable); fe_dev_stop() what it does at guest power-off.  In between
 * the FUSE session (fe_dev_fuse_init/destroy) runs over the queues: queue 0
 * is hiprio (FORGETs), queues 1..N carry requests.
 */
#ifndef VHOSTFS_FE_DEVICE_INTERNAL_H
#define VHOSTFS_FE_DEVICE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/guest_mem_internal.h"
#include "frontend/queue_internal.h"
#include "frontend/vu_client_internal.h"

#define FE_QUEUES_MAX 64u
#define FE_HIPRIO_SLOTS 32u
#define FE_GPA_BASE (1ull << 30) /* guest RAM does not start at 0 */

struct fe_dev_config {
	const char *socket;
	uint32_t queues;     /* request queues */
	uint16_t queue_size;
	uint32_t qd;         /* slots per request queue */
	uint64_t mem_size;   /* guest RAM at least this big */
	bool no_indirect;
	bool no_event_idx;
	bool poll;
	enum fe_layout layout;
	int timeout_ms;
};

struct fe_dev {
	struct fe_dev_config cfg;
	struct fe_vu vu;
	struct fe_mem mem;
	uint64_t features;          /* acked virtio features */
	uint64_t protocol_features; /* acked protocol features */
	uint64_t queue_num;         /* GET_QUEUE_NUM (0 without MQ) */
	bool indirect, event_idx;
	uint32_t nq;                /* queues set up, hiprio included */
	struct fe_queue q[FE_QUEUES_MAX + 1];
	bool started;
	/* FUSE session */
	bool fuse_up;
	uint32_t fuse_minor;
	uint32_t init_flags;
	uint32_t max_write;
	uint32_t max_pages;
	uint64_t forgets;
};

/* Connect and negotiate features; nothing is mapped yet. */
int fe_dev_connect(struct fe_dev *d, const struct fe_dev_config *cfg);

/*
 * Create guest memory and queues for requests of up to @data_bytes bytes of
 * data (the first page offset by @data_off), hand them to the back-end
 * and enable the rings.
 */
int fe_dev_start(struct fe_dev *d, uint32_t data_bytes, uint32_t data_off);

/* Disable the rings, fetch their bases, disconnect, free everything.
 * Returns -EPROTO if the back-end's ring state disagrees with ours. */
int fe_dev_stop(struct fe_dev *d);

/* Request queue @i (1-based); queue 0 is hiprio. */
static inline struct fe_queue *fe_dev_queue(struct fe_dev *d, uint32_t i)
{
	return &d->q[i];
}

/* FUSE_INIT on request queue 1; checks the reply, records the limits. */
int fe_dev_fuse_init(struct fe_dev *d);
/* FUSE_DESTROY on request queue 1. */
int fe_dev_fuse_destroy(struct fe_dev *d);
/* FORGET on hiprio; asynchronous, thread-safe. */
int fe_dev_forget(struct fe_dev *d, uint64_t nodeid, uint64_t nlookup);
/* Wait until every FORGET came back. */
int fe_dev_forget_drain(struct fe_dev *d);

/* Largest READ / WRITE the session allows (bytes). */
uint32_t fe_dev_max_read(const struct fe_dev *d);
uint32_t fe_dev_max_write(const struct fe_dev *d);

#endif /* VHOSTFS_FE_DEVICE_INTERNAL_H */
