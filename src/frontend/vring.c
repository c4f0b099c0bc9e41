// SPDX-License-Identifier: MIT
/* vring.c - driver-side split virtqueue: free list, avail, used, events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/vring_internal.h"

/* Index of the avail ring's used_event word / the used ring's avail_event
 * word, counted in uint16_t from the start of each ring. */
#define AVAIL_IDX 1
#define AVAIL_RING 2
#define USED_IDX 1

static inline uint16_t *vring_used_event(struct fe_vring *vr)
{
	return &vr->avail[AVAIL_RING + vr->num];
}

static inline uint16_t *vring_avail_event(struct fe_vring *vr)
{
	/* after flags, idx (4 bytes) and num 8-byte elements */
	return &vr->used[2 + 4 * (size_t)vr->num];
}

static inline struct fe_vring_used_elem *vring_used_elem(struct fe_vring *vr,
							 uint16_t i)
{
	return (struct fe_vring_used_elem *)(vr->used + 2) + i;
}

void fe_vring_layout(uint16_t num, struct fe_vring_layout *l)
{
	size_t desc = 16 * (size_t)num;
	size_t avail = 2 * (3 + (size_t)num);
	size_t used = 3 * 2 + 8 * (size_t)num;

	l->avail_off = desc;
	/* A used ring on its own cache line keeps the device's writes off
	 * the lines the driver writes (the spec asks only for 4). */
	l->used_off = (desc + avail + 63) & ~(size_t)63;
	l->total = l->used_off + used;
}

int fe_vring_init(struct fe_vring *vr, uint16_t num, void *mem, bool event_idx)
{
	struct fe_vring_layout l;

	memset(vr, 0, sizeof(*vr));
	if (num == 0 || num > FE_VRING_NUM_MAX || (num & (num - 1)))
		return -EINVAL;
	fe_vring_layout(num, &l);
	vr->num = num;
	vr->event_idx = event_idx;
	vr->desc = mem;
	vr->avail = (uint16_t *)((uint8_t *)mem + l.avail_off);
	vr->used = (uint16_t *)((uint8_t *)mem + l.used_off);
	vr->next = calloc(num, sizeof(*vr->next));
	vr->token = calloc(num, sizeof(*vr->token));
	if (!vr->next || !vr->token) {
		fe_vring_fini(vr);
		return -ENOMEM;
	}
	for (uint16_t i = 0; i < num; i++)
		vr->next[i] = (uint16_t)(i + 1);
	vr->num_free = num;
	return 0;
}

void fe_vring_fini(struct fe_vring *vr)
{
	free(vr->next);
	free(vr->token);
	vr->next = NULL;
	vr->token = NULL;
}

int fe_vring_chain_alloc(struct fe_vring *vr, uint16_t n, uint16_t *ids)
{
	if (n == 0 || n > vr->num_free)
		return -ENOSPC;
	for (uint16_t i = 0; i < n; i++) {
		ids[i] = vr->free_head;
		vr->free_head = vr->next[ids[i]];
	}
	vr->num_free = (uint16_t)(vr->num_free - n);
	for (uint16_t i = 0; i < n; i++) {
		struct fe_vring_desc *d = &vr->desc[ids[i]];

		d->flags = i + 1 < n ? FE_VRING_DESC_F_NEXT : 0;
		d->next = i + 1 < n ? ids[i + 1] : 0;
	}
	return 0;
}

void fe_vring_chain_free(struct fe_vring *vr, const uint16_t *ids, uint16_t n)
{
	for (uint16_t i = n; i-- > 0;) {
		vr->next[ids[i]] = vr->free_head;
		vr->free_head = ids[i];
	}
	vr->num_free = (uint16_t)(vr->num_free + n);
}

int fe_vring_add(struct fe_vring *vr, uint16_t head, void *token)
{
	if (head >= vr->num || vr->token[head])
		return -EBUSY;
	vr->token[head] = token;
	vr->avail[AVAIL_RING + (vr->avail_idx & (vr->num - 1))] = head;
	vr->avail_idx++;
	vr->inflight++;
	return 0;
}

bool fe_vring_publish(struct fe_vring *vr)
{
	uint16_t old = vr->kick_idx;
	uint16_t new_idx = vr->avail_idx;

	if (old == new_idx)
		return false;
	/* Descriptors and ring entries before the index that exposes them. */
	__atomic_store_n(&vr->avail[AVAIL_IDX], new_idx, __ATOMIC_RELEASE);
	/* The index must be visible before we read the device's wish, or
	 * the device may go to sleep after we decided not to kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vr->kick_idx = new_idx;
	if (vr->event_idx)
		return fe_vring_need_event(
			__atomic_load_n(vring_avail_event(vr), __ATOMIC_RELAXED),
			new_idx, old);
	return !(__atomic_load_n(&vr->used[0], __ATOMIC_RELAXED) &
		 FE_VRING_USED_F_NO_NOTIFY);
}

int fe_vring_get_used(struct fe_vring *vr, void **token, uint32_t *len)
{
	struct fe_vring_used_elem e;
	uint16_t used_idx;

	if (vr->broken)
		return -EPROTO;
	used_idx = __atomic_load_n(&vr->used[USED_IDX], __ATOMIC_ACQUIRE);
	if (used_idx == vr->last_used)
		return 0;
	/* More entries than we have in flight: the index is garbage. */
	if ((uint16_t)(used_idx - vr->last_used) > vr->inflight)
		goto broken;
	e = *vring_used_elem(vr, vr->last_used & (vr->num - 1));
	if (e.id >= vr->num || !vr->token[e.id])
		goto broken;
	*token = vr->token[e.id];
	*len = e.len;
	vr->token[e.id] = NULL;
	vr->last_used++;
	vr->inflight--;
	return 1;
broken:
	vr->broken = true;
	return -EPROTO;
}

bool fe_vring_enable_cb(struct fe_vring *vr)
{
	if (vr->event_idx)
		__atomic_store_n(vring_used_event(vr), vr->last_used,
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&vr->avail[0], 0, __ATOMIC_RELAXED);
	/* Publish the wish before re-reading used->idx: otherwise an entry
	 * added in between would neither be seen nor signalled. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vr->used[USED_IDX], __ATOMIC_ACQUIRE) !=
	       vr->last_used;
}

void fe_vring_disable_cb(struct fe_vring *vr)
{
	if (vr->event_idx) {
		/* Flags must stay 0 with EVENT_IDX; park the event index half
		 * a ring-space away so the device never crosses it. */
		__atomic_store_n(vring_used_event(vr),
				 (uint16_t)(vr->last_used + 0x8000u),
				 __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vr->avail[0], FE_VRING_AVAIL_F_NO_INTERRUPT,
				 __ATOMIC_RELAXED);
	}
}
