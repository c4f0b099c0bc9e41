/* SPDX-License-Identifier: MIT */
/*
 * virtq_internal.h - the device side of a split virtqueue in guest memory.
 *
 * Everything read from the ring is guest data: indices, descriptor addresses,
 * lengths and flags are validated before use and each descriptor is read
 * exactly once (a snapshot), so a guest rewriting the ring concurrently can
 * only hurt itself.  Any violation marks the queue broken: it then refuses
 * to pop, and the owner reports the error; nothing asserts or crashes.
 *
 * A struct vu_virtq belongs to one thread (the queue's owner); no locks.
 */
#ifndef VHOSTFS_VU_VIRTQ_INTERNAL_H
#define VHOSTFS_VU_VIRTQ_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "memory_internal.h"
#include "proto_internal.h"

/* Front-end virtual addresses of the three ring parts (SET_VRING_ADDR). */
struct vu_ring_addrs {
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

struct vu_virtq {
	const struct vu_mem_map *mem;
	struct vu_ring_addrs addrs;
	struct vq_desc *desc;
	struct vq_avail *avail;
	struct vq_used *used;
	uint16_t *used_event;  /* &avail->ring[size], written by the driver */
	uint16_t *avail_event; /* after used->ring[size], written by us */
	uint16_t size;         /* power of two */
	uint16_t last_avail;   /* next avail entry to take */
	uint16_t used_idx;     /* next used entry to fill (shadow) */
	uint16_t published;    /* used->idx as last stored */
	uint16_t signalled;    /* used index at the last notify decision */
	bool signalled_valid;
	bool event_idx;        /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;         /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool no_notify;        /* shadow of VQ_USED_F_NO_NOTIFY */
	bool broken;
	int error;             /* first error that broke the queue (-errno) */
};

/*
 * One popped descriptor chain: iov[0 .. in_cnt) are device-readable (what
 * the driver wrote), iov[in_cnt .. in_cnt + out_cnt) device-writable.
 * The caller provides @iov with room for @max entries.
 */
struct vu_chain {
	struct iovec *iov;
	unsigned int max;
	unsigned int in_cnt;
	unsigned int out_cnt;
	uint64_t out_len; /* writable bytes */
	uint16_t head;
};

/*
 * Validate and translate the ring: @size a power of two <= 32768, each part
 * inside one mapped region and aligned (desc 16, avail 2, used 4).  Starts
 * with last_avail = @base and the used index found in guest memory.
 * Returns 0 or -EINVAL/-EFAULT (the queue is left unusable).
 */
int vu_virtq_setup(struct vu_virtq *vq, const struct vu_mem_map *mem,
		   unsigned int size, const struct vu_ring_addrs *addrs,
		   uint16_t base, uint64_t features);

/*
 * Switch to a new memory map (rings at the same front-end addresses).
 * Returns 0, or -EFAULT and marks the queue broken if a ring is unmapped.
 */
int vu_virtq_remap(struct vu_virtq *vq, const struct vu_mem_map *mem);

/*
 * Take the next available chain.  Returns 1 with @chain filled, 0 if the
 * ring is empty, or -errno when the ring is malformed (the queue is then
 * broken; -EPROTO avail index jump, -EINVAL bad head/flags/next/zero
 * length/readable after writable/indirect misuse, -ELOOP loop, -EFAULT
 * unmapped address, -E2BIG more iovecs than @chain->max), or -EIO when
 * already broken.
 */
int vu_virtq_pop(struct vu_virtq *vq, struct vu_chain *chain);

/* Mark the queue broken for a reason found outside the ring (-errno). */
void vu_virtq_fail(struct vu_virtq *vq, int err);

/* True if the driver made entries available we have not popped. */
bool vu_virtq_pending(const struct vu_virtq *vq);

/*
 * Fill a used element (not yet visible to the driver).  Like every write to
 * guest memory below, a no-op once the queue is broken.
 */
void vu_virtq_push(struct vu_virtq *vq, uint16_t head, uint32_t len);

/* Make pushed elements visible (store-release of used->idx). */
void vu_virtq_publish(struct vu_virtq *vq);

/*
 * After vu_virtq_publish(): full barrier, then decide from used_event (or
 * VQ_AVAIL_F_NO_INTERRUPT) whether the driver wants an interrupt.
 */
bool vu_virtq_should_notify(struct vu_virtq *vq);

/* Ask the driver not to kick (while we are processing or polling). */
void vu_virtq_notify_disable(struct vu_virtq *vq);

/*
 * Ask the driver to kick for the next entry, then full barrier and re-check.
 * Returns true if the ring is still empty (safe to sleep), false if entries
 * arrived meanwhile (process them, or a kick could be lost).
 */
bool vu_virtq_notify_enable(struct vu_virtq *vq);

/* virtio's vring_need_event(): did [old, new) cross @event? */
static inline bool vu_virtq_need_event(uint16_t event, uint16_t new_idx,
				       uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif /* VHOSTFS_VU_VIRTQ_INTERNAL_H */
