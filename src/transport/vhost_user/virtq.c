// SPDX-License-Identifier: MIT
/* virtq.c - split virtqueue: chain walking, used ring, notifications. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtq_internal.h"

/* Keep the compiler from re-reading guest memory after a snapshot. */
#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

static bool is_aligned(const void *p, uintptr_t align)
{
	return ((uintptr_t)p & (align - 1)) == 0;
}

static int virtq_map_rings(struct vu_virtq *vq, const struct vu_mem_map *mem)
{
	void *desc, *avail, *used;

	desc = vu_mem_ptr(mem, VU_ADDR_UVA, vq->addrs.desc,
			  VQ_DESC_BYTES(vq->size));
	avail = vu_mem_ptr(mem, VU_ADDR_UVA, vq->addrs.avail,
			   VQ_AVAIL_BYTES(vq->size));
	used = vu_mem_ptr(mem, VU_ADDR_UVA, vq->addrs.used,
			  VQ_USED_BYTES(vq->size));
	if (!desc || !avail || !used)
		return -EFAULT;
	if (!is_aligned(desc, 16) || !is_aligned(avail, 2) ||
	    !is_aligned(used, 4))
		return -EINVAL;
	vq->mem = mem;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->used_event = &vq->avail->ring[vq->size];
	vq->avail_event = (uint16_t *)(void *)&vq->used->ring[vq->size];
	return 0;
}

static void virtq_break(struct vu_virtq *vq, int err)
{
	if (!vq->broken) {
		vq->broken = true;
		vq->error = err;
	}
}

void vu_virtq_fail(struct vu_virtq *vq, int err)
{
	virtq_break(vq, err);
}

int vu_virtq_setup(struct vu_virtq *vq, const struct vu_mem_map *mem,
		   unsigned int size, const struct vu_ring_addrs *addrs,
		   uint16_t base, uint64_t features)
{
	int rc;

	memset(vq, 0, sizeof(*vq));
	vq->broken = true;
	vq->error = -EINVAL;
	if (size == 0 || size > VQ_SIZE_MAX || (size & (size - 1)) != 0)
		return -EINVAL;
	vq->size = (uint16_t)size;
	vq->addrs = *addrs;
	rc = virtq_map_rings(vq, mem);
	if (rc) {
		vq->error = rc;
		return rc;
	}
	vq->event_idx = features & (1ull << VU_F_RING_EVENT_IDX);
	vq->indirect = features & (1ull << VU_F_RING_INDIRECT_DESC);
	vq->last_avail = base;
	vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx,
					       __ATOMIC_ACQUIRE));
	vq->published = vq->used_idx;
	vq->no_notify = le16toh(__atomic_load_n(&vq->used->flags,
						__ATOMIC_RELAXED)) &
			VQ_USED_F_NO_NOTIFY;
	vq->broken = false;
	vq->error = 0;
	return 0;
}

int vu_virtq_remap(struct vu_virtq *vq, const struct vu_mem_map *mem)
{
	int rc = virtq_map_rings(vq, mem);

	if (rc) {
		virtq_break(vq, rc);
		/* Never touch the old (soon unmapped) rings again. */
		vq->mem = mem;
	}
	return rc;
}

/* The table a chain is currently walking: the ring or an indirect table. */
struct walk_table {
	const struct vq_desc *host; /* contiguous host copy, or NULL */
	uint64_t gpa;               /* else read entry by entry from here */
	uint32_t n;                 /* entries */
	bool indirect;
};

static int desc_read(const struct vu_virtq *vq, const struct walk_table *t,
		     uint32_t i, struct vq_desc *d)
{
	if (t->host) {
		memcpy(d, &t->host[i], sizeof(*d));
	} else {
		int rc = vu_mem_read(vq->mem, VU_ADDR_GPA,
				     t->gpa + (uint64_t)i * sizeof(*d), d,
				     sizeof(*d));
		if (rc)
			return rc;
	}
	compiler_barrier();
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return 0;
}

static int enter_indirect(const struct vu_virtq *vq, struct walk_table *t,
			  const struct vq_desc *d)
{
	if (!vq->indirect || t->indirect || (d->flags & VQ_DESC_F_NEXT))
		return -EINVAL;
	if (d->len == 0 || d->len % sizeof(struct vq_desc) != 0 ||
	    d->len / sizeof(struct vq_desc) > VQ_SIZE_MAX)
		return -EINVAL;
	if (d->addr > UINT64_MAX - d->len)
		return -EFAULT;
	/* A table split across regions is read entry by entry instead. */
	t->host = vu_mem_ptr(vq->mem, VU_ADDR_GPA, d->addr, d->len);
	t->gpa = d->addr;
	t->n = d->len / sizeof(struct vq_desc);
	t->indirect = true;
	return 0;
}

static int chain_add(const struct vu_virtq *vq, struct vu_chain *c,
		     const struct vq_desc *d)
{
	bool writable = d->flags & VQ_DESC_F_WRITE;
	unsigned int n = c->in_cnt + c->out_cnt;
	int rc;

	if (d->len == 0)
		return -EINVAL;
	if (!writable && c->out_cnt)
		return -EINVAL;
	rc = vu_mem_translate(vq->mem, VU_ADDR_GPA, d->addr, d->len, c->iov,
			      c->max, &n);
	if (rc)
		return rc;
	if (writable) {
		c->out_cnt = n - c->in_cnt;
		c->out_len += d->len;
	} else {
		c->in_cnt = n;
	}
	return 0;
}

/*
 * Walk the chain at @head.  Each table is walked at most its size times, so
 * a loop ends as -ELOOP instead of spinning.
 */
static int chain_walk(const struct vu_virtq *vq, uint16_t head,
		      struct vu_chain *c)
{
	struct walk_table t = { .host = vq->desc, .n = vq->size };
	uint32_t idx = head, budget = vq->size;
	struct vq_desc d;
	int rc;

	c->in_cnt = c->out_cnt = 0;
	c->out_len = 0;
	c->head = head;
	for (;;) {
		if (budget-- == 0)
			return -ELOOP;
		rc = desc_read(vq, &t, idx, &d);
		if (rc)
			return rc;
		if (d.flags & VQ_DESC_F_INDIRECT) {
			rc = enter_indirect(vq, &t, &d);
			if (rc)
				return rc;
			idx = 0;
			budget = t.n;
			continue;
		}
		rc = chain_add(vq, c, &d);
		if (rc)
			return rc;
		if (!(d.flags & VQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= t.n)
			return -EINVAL;
	}
}

static uint16_t avail_idx_load(const struct vu_virtq *vq)
{
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
}

int vu_virtq_pop(struct vu_virtq *vq, struct vu_chain *chain)
{
	uint16_t avail, head;
	int rc;

	if (vq->broken)
		return -EIO;
	avail = avail_idx_load(vq);
	if ((uint16_t)(avail - vq->last_avail) > vq->size) {
		virtq_break(vq, -EPROTO);
		return -EPROTO;
	}
	if (avail == vq->last_avail)
		return 0;
	head = le16toh(__atomic_load_n(
		&vq->avail->ring[vq->last_avail & (vq->size - 1)],
		__ATOMIC_RELAXED));
	rc = head < vq->size ? chain_walk(vq, head, chain) : -EINVAL;
	if (rc) {
		virtq_break(vq, rc);
		return rc;
	}
	vq->last_avail++;
	return 1;
}

bool vu_virtq_pending(const struct vu_virtq *vq)
{
	if (vq->broken)
		return false;
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED)) !=
	       vq->last_avail;
}

void vu_virtq_push(struct vu_virtq *vq, uint16_t head, uint32_t len)
{
	struct vq_used_elem *e;

	/* a broken ring may point at unmapped memory: never write it */
	if (vq->broken)
		return;
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
}

void vu_virtq_publish(struct vu_virtq *vq)
{
	if (vq->broken || vq->published == vq->used_idx)
		return;
	/* Elements first, then the index that exposes them. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx),
			 __ATOMIC_RELEASE);
	vq->published = vq->used_idx;
}

bool vu_virtq_should_notify(struct vu_virtq *vq)
{
	uint16_t old, event;
	bool valid;

	/* Our used->idx store must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->broken)
		return false;
	if (!vq->event_idx)
		return !(le16toh(__atomic_load_n(&vq->avail->flags,
						 __ATOMIC_RELAXED)) &
			 VQ_AVAIL_F_NO_INTERRUPT);
	event = le16toh(__atomic_load_n(vq->used_event, __ATOMIC_RELAXED));
	old = vq->signalled;
	valid = vq->signalled_valid;
	vq->signalled = vq->published;
	vq->signalled_valid = true;
	return !valid || vu_virtq_need_event(event, vq->published, old);
}

static void used_flags_store(struct vu_virtq *vq, bool no_notify)
{
	vq->no_notify = no_notify;
	__atomic_store_n(&vq->used->flags,
			 htole16(no_notify ? VQ_USED_F_NO_NOTIFY : 0),
			 __ATOMIC_RELAXED);
}

void vu_virtq_notify_disable(struct vu_virtq *vq)
{
	/*
	 * With EVENT_IDX, leaving avail_event behind last_avail already
	 * suppresses kicks (until the index wraps around to it).
	 */
	if (!vq->event_idx && !vq->no_notify && !vq->broken)
		used_flags_store(vq, true);
}

bool vu_virtq_notify_enable(struct vu_virtq *vq)
{
	if (vq->broken)
		return true;
	if (vq->event_idx)
		__atomic_store_n(vq->avail_event, htole16(vq->last_avail),
				 __ATOMIC_RELAXED);
	else if (vq->no_notify)
		used_flags_store(vq, false);
	/* Publish the request before re-reading avail->idx, or a kick is lost. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_RELAXED)) ==
	       vq->last_avail;
}
