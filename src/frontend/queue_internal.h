/* SPDX-License-Identifier: MIT */
/*
 * queue_internal.h - one virtqueue of the front-end with its request slots.
 *
 * A queue owns its ring, its kick and call eventfds and a fixed set of
 * request slots whose buffers and descriptor chains are set up once.  A
 * request's life: fe_queue_get() a free slot, encode it (fe_fuse_*),
 * fe_queue_submit(), fe_queue_kick() once per batch, and its done callback
 * runs from fe_queue_reap() with the checked reply status.  Nothing on
 * that path allocates or locks; the only syscalls are the kick and the
 * wait for a call, both skipped when the device says so (EVENT_IDX or the
 * ring flags) and the wait skipped entirely in poll mode.
 *
 * One thread per queue.  The hiprio queue is shared; its users hold
 * q->lock.
 */
#ifndef VHOSTFS_FE_QUEUE_INTERNAL_H
#define VHOSTFS_FE_QUEUE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "frontend/fuse_req_internal.h"
#include "frontend/guest_mem_internal.h"
#include "frontend/vring_internal.h"

struct fe_queue_config {
	uint16_t index;       /* virtqueue index: 0 hiprio, 1.. requests */
	uint16_t num;         /* ring size, a power of two */
	uint32_t nreqs;       /* request slots */
	uint32_t data_pages;  /* data pages per slot */
	uint32_t data_off;    /* offset of data in the first page */
	bool indirect;        /* chains through per-slot indirect tables */
	bool event_idx;
	bool poll;            /* busy-poll the used ring, no calls */
	enum fe_layout layout;
	int timeout_ms;       /* a request outstanding this long fails */
	int hangup_fd;        /* the vhost-user socket: its hang-up aborts */
};

struct fe_queue {
	struct fe_queue_config cfg;
	struct fe_vring vr;
	void *ring_mem;       /* descriptor table, avail and used rings */
	int kickfd, callfd, errfd;
	int epfd;             /* call, err and the socket's hang-up */
	struct fe_req *reqs;
	uint16_t *ids;        /* reserved descriptor indices of all slots */
	struct fe_req *free;
	uint32_t busy;        /* slots in flight */
	uint64_t seq;         /* unique ids */
	uint64_t kicks, calls, waits;
	pthread_mutex_t lock;
};

/* Guest memory a queue of @cfg needs (rings, slots, tables, pages). */
uint64_t fe_queue_mem_need(const struct fe_queue_config *cfg);

/* Descriptors per slot for @data_pages pages of data. */
static inline uint32_t fe_queue_chain_len(uint32_t data_pages)
{
	return FE_REQ_DESC_FIXED + data_pages;
}

/* Carve the queue out of @mem and reserve every slot's chain.  -ENOSPC if
 * the ring is too small for nreqs direct chains. */
int fe_queue_create(struct fe_queue *q, struct fe_mem *mem,
		    const struct fe_queue_config *cfg);
void fe_queue_destroy(struct fe_queue *q);

/* A free slot, or NULL. */
struct fe_req *fe_queue_get(struct fe_queue *q);
/* Return a slot that is not in flight. */
void fe_queue_put(struct fe_queue *q, struct fe_req *r);

/* Give the encoded request in @r a unique id, its chain, and make it
 * available; visible to the device after fe_queue_kick(). */
int fe_queue_submit(struct fe_queue *q, struct fe_req *r);
void fe_queue_kick(struct fe_queue *q);

/* Run the done callback of every completed request; returns how many, or
 * -EPROTO when the device broke the ring. */
int fe_queue_reap(struct fe_queue *q);

/* Sleep until the device calls (or, polling, until a used entry shows):
 * 0, -ETIMEDOUT after @timeout_ms, -ECONNRESET if the back-end hung up,
 * -EIO if it signalled the queue's error eventfd (SET_VRING_ERR). */
int fe_queue_wait(struct fe_queue *q, int timeout_ms);

/* Submit @r, wait for it, return its status (synchronous operations). */
int fe_queue_call(struct fe_queue *q, struct fe_req *r);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t fe_now_ns(void);

#endif /* VHOSTFS_FE_QUEUE_INTERNAL_H */
