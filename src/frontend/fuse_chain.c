// SPDX-License-Identifier: MIT
/* fuse_chain.c - descriptor chains for FUSE requests, built once per shape. */
#include <errno.h>

#include "frontend/fuse_req_internal.h"

struct chain_writer {
	struct fe_req *r;
	uint16_t n;
	uint32_t writable;
	bool overflow;
};

static uint16_t chain_index(const struct fe_req *r, uint16_t i)
{
	return r->ids ? r->ids[i] : i;
}

static void chain_add(struct chain_writer *cw, uint64_t gpa, uint32_t len,
		      bool write)
{
	struct fe_req *r = cw->r;
	struct fe_vring_desc *d;

	if (len == 0)
		return;
	if (cw->n >= r->ndesc_max) {
		cw->overflow = true;
		return;
	}
	d = &r->table[chain_index(r, cw->n)];
	d->addr = gpa;
	d->len = len;
	d->flags = (uint16_t)(write ? FE_VRING_DESC_F_WRITE : 0);
	if (cw->n + 1 < r->ndesc_max) {
		d->flags |= FE_VRING_DESC_F_NEXT;
		d->next = chain_index(r, (uint16_t)(cw->n + 1));
	}
	if (write)
		cw->writable += len;
	cw->n++;
}

/* Add [0, total) of a buffer in up to three pieces cut at @c1 and @c2. */
static void chain_cut(struct chain_writer *cw, uint64_t gpa, uint32_t total,
		      uint32_t c1, uint32_t c2, bool write)
{
	c1 = c1 < total ? c1 : total;
	c2 = c2 < total ? c2 : total;
	c2 = c2 > c1 ? c2 : c1;
	chain_add(cw, gpa, c1, write);
	chain_add(cw, gpa + c1, c2 - c1, write);
	chain_add(cw, gpa + c2, total - c2, write);
}

/* Header + args: split per layout.  @hdr is the header size. */
static void chain_args(struct chain_writer *cw, enum fe_layout layout,
		       uint64_t gpa, uint32_t hdr, uint32_t args, bool write)
{
	uint32_t total = hdr + args;

	switch (layout) {
	case FE_LAYOUT_LINUX:
		chain_cut(cw, gpa, total, hdr, total, write);
		break;
	case FE_LAYOUT_SCATTER:
		/* odd cuts: inside the header and inside the args */
		chain_cut(cw, gpa, total, hdr / 2 + 1, hdr + args / 2, write);
		break;
	default:
		chain_add(cw, gpa, total, write);
		break;
	}
}

static void chain_pages(struct chain_writer *cw, const struct fe_req *r,
			bool write)
{
	uint64_t gpa = r->data_gpa + r->data_off;
	uint32_t left = r->data_len;
	uint32_t room = FE_PAGE_SIZE - r->data_off;

	while (left) {
		uint32_t n = left < room ? left : room;

		chain_add(cw, gpa, n, write);
		gpa += n;
		left -= n;
		room = FE_PAGE_SIZE;
	}
}

static uint64_t chain_shape(const struct fe_req *r, enum fe_layout layout)
{
	uint32_t out_args = r->data_out ? 0 : r->out_max;

	return 1 | (uint64_t)r->in_args << 1 | (uint64_t)out_args << 11 |
	       (uint64_t)r->data_out << 21 | (uint64_t)r->no_reply << 22 |
	       (uint64_t)layout << 23 | (uint64_t)r->data_len << 25;
}

static int chain_build(struct fe_req *r, enum fe_layout layout)
{
	struct chain_writer cw = { .r = r };
	uint32_t out_args = r->data_out ? 0 : r->out_max;

	/* A lone forget is one buffer in Linux, whatever the args. */
	chain_args(&cw, r->no_reply && layout == FE_LAYOUT_LINUX
				? FE_LAYOUT_JOINED : layout,
		   r->in_gpa, sizeof(struct fuse_in_header), r->in_args, false);
	if (!r->data_out)
		chain_pages(&cw, r, false);
	if (!r->no_reply) {
		chain_args(&cw, layout, r->out_gpa,
			   sizeof(struct fuse_out_header), out_args, true);
		if (r->data_out)
			chain_pages(&cw, r, true);
	}
	if (cw.overflow)
		return -E2BIG;
	r->table[chain_index(r, (uint16_t)(cw.n - 1))].flags &=
		(uint16_t)~FE_VRING_DESC_F_NEXT;
	r->ndesc = cw.n;
	r->writable = cw.writable;
	if (r->indirect_head) {
		r->indirect_head->addr = r->table_gpa;
		r->indirect_head->len = (uint32_t)cw.n * sizeof(struct fe_vring_desc);
		r->indirect_head->flags = FE_VRING_DESC_F_INDIRECT;
	}
	return 0;
}

int fe_fuse_prepare(struct fe_req *r, uint64_t unique, enum fe_layout layout)
{
	uint64_t shape = chain_shape(r, layout);

	fe_fuse_header_finish(r, unique);
	if (shape == r->shape)
		return 0;
	r->shape = 0;
	if (chain_build(r, layout))
		return -E2BIG;
	r->shape = shape;
	return 0;
}
