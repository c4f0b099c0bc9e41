/* SPDX-License-Identifier: MIT */
/*
 * vu_engine_internal.h - vhostfsd's engine for the vhost-user device: the
 * FUSE engine, plus a request count per reactor thread, so that a log line
 * (and the guest tests) can tell which threads, and so which queues,
 * carried a session's requests.
 *
 * Each counter has one writer, the thread it belongs to (a relaxed load and
 * store: no locked instruction per request), and is read on the control
 * thread when the session ends, after the device drained every queue.
 */
#ifndef VHOSTFS_APP_VU_ENGINE_INTERNAL_H
#define VHOSTFS_APP_VU_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "vhostfs/fuse_engine.h"
#include "vhostfs/vhost_user.h"

/* Counter slots: 0 = the control thread, 1..T = the queue threads. */
#define VHOSTFSD_VU_SLOTS (1u + VHOST_USER_REQUEST_QUEUES_MAX)

struct vhostfsd_vu_count {
	_Alignas(64) _Atomic uint64_t requests;
};

struct vhostfsd_vu_engine {
	struct fuse_session_config fc;
	/* queue q runs on slot queue_slot[q] (for the log line) */
	unsigned int nqueues;
	unsigned char queue_slot[1 + VHOST_USER_REQUEST_QUEUES_MAX];
	unsigned int nslots;
	struct vhostfsd_vu_count count[VHOSTFSD_VU_SLOTS];
	uint64_t sessions;       /* ended, control thread */
	uint64_t total_requests; /* of ended sessions, control thread */
};

/* The device's engine hooks, with @e as their context. */
void vhostfsd_vu_engine_init(struct vhostfsd_vu_engine *e,
			     struct vhost_user_engine *hooks);

/* Run by each reactor thread before it serves anything (0 = control). */
void vhostfsd_vu_engine_thread_slot(unsigned int slot);

#endif /* VHOSTFS_APP_VU_ENGINE_INTERNAL_H */
