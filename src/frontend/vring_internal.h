/* SPDX-License-Identifier: MIT */
/*
 * vring_internal.h - the driver side of a VIRTIO 1.x split virtqueue.
 *
 * What the guest's virtio_ring does, for one thread: a descriptor free list
 * (kept in private memory, never read back from the shared table, because
 * the device could scribble on it), the avail ring with a shadow index and
 * release-ordered publication, the used ring read with acquire ordering and
 * every entry checked against what is really in flight, and notification
 * suppression both ways (VIRTIO_F_EVENT_IDX or the flags words).
 *
 * Not thread-safe: one owner thread per ring (or a lock around it).
 * Little-endian host assumed, as for VIRTIO 1.x on x86/arm64.
 */
#ifndef VHOSTFS_FE_VRING_INTERNAL_H
#define VHOSTFS_FE_VRING_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FE_VRING_DESC_F_NEXT 1u
#define FE_VRING_DESC_F_WRITE 2u
#define FE_VRING_DESC_F_INDIRECT 4u
#define FE_VRING_AVAIL_F_NO_INTERRUPT 1u
#define FE_VRING_USED_F_NO_NOTIFY 1u
#define FE_VRING_NUM_MAX 32768u

struct fe_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct fe_vring_desc) == 16, "split descriptor");

struct fe_vring_used_elem {
	uint32_t id;
	uint32_t len;
};
_Static_assert(sizeof(struct fe_vring_used_elem) == 8, "used element");

/* Where the three parts sit in one block of ring memory. */
struct fe_vring_layout {
	size_t avail_off; /* from the descriptor table */
	size_t used_off;
	size_t total;
};

struct fe_vring {
	uint16_t num; /* power of two */
	bool event_idx;
	bool broken;  /* the device returned something impossible */
	struct fe_vring_desc *desc;
	uint16_t *avail; /* flags, idx, ring[num], used_event */
	uint16_t *used;  /* flags, idx, then elems; avail_event after them */
	uint16_t avail_idx; /* next avail slot we fill (shadow) */
	uint16_t kick_idx;  /* avail idx at the previous kick decision */
	uint16_t last_used; /* next used entry to consume */
	uint16_t free_head;
	uint16_t num_free;
	uint16_t inflight;
	uint16_t *next;  /* private free-list links */
	void **token;    /* per head: its owner while in flight */
};

/* Byte layout of a ring of @num entries (descriptor table 16-aligned,
 * used ring 4-aligned, as the spec requires). */
void fe_vring_layout(uint16_t num, struct fe_vring_layout *l);

/* Set up over zeroed ring memory @mem (fe_vring_layout(num).total bytes,
 * 16-aligned).  @num must be a power of two <= FE_VRING_NUM_MAX.  Allocates
 * the private arrays (set-up time only). */
int fe_vring_init(struct fe_vring *vr, uint16_t num, void *mem, bool event_idx);
void fe_vring_fini(struct fe_vring *vr);

/*
 * Take @n descriptors from the free list, link them in order (NEXT flags
 * and next fields set), store their indices in @ids[0..n).  -ENOSPC when
 * fewer than @n are free.  Chains are reserved once and reused.
 */
int fe_vring_chain_alloc(struct fe_vring *vr, uint16_t n, uint16_t *ids);
/* Give back a chain reserved by fe_vring_chain_alloc(). */
void fe_vring_chain_free(struct fe_vring *vr, const uint16_t *ids, uint16_t n);

/* Make chain @head available with @token as its owner; -EBUSY if @head is
 * already in flight.  Not visible to the device until fe_vring_publish(). */
int fe_vring_add(struct fe_vring *vr, uint16_t head, void *token);

/*
 * Publish every added chain (release-store of avail->idx) and decide
 * whether the device wants a kick (EVENT_IDX avail_event or the
 * NO_NOTIFY flag, read after a full barrier).
 */
bool fe_vring_publish(struct fe_vring *vr);

/*
 * Take the next used entry: 1 with *@token / *@len set, 0 when none, or
 * -EPROTO when the device returned an id that is not in flight (the ring
 * is then broken and stays so).
 */
int fe_vring_get_used(struct fe_vring *vr, void **token, uint32_t *len);

/* Ask for a call on the next used entry; returns true if entries arrived
 * meanwhile (reap them instead of sleeping). */
bool fe_vring_enable_cb(struct fe_vring *vr);
/* Ask for no calls (busy polling). */
void fe_vring_disable_cb(struct fe_vring *vr);

/* The event-index rule: has [old, new) crossed @event? */
static inline bool fe_vring_need_event(uint16_t event, uint16_t new_idx,
				       uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

#endif /* VHOSTFS_FE_VRING_INTERNAL_H */
