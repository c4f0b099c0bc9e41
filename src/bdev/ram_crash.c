// SPDX-License-Identifier: MIT
/*
 * ram_crash.c - what a ram device with a volatile cache holds after a power
 * loss: the media plus the pending writes that a loss policy lets survive.
 *
 * Surviving records are applied oldest first, so each block ends as its
 * newest surviving version.  Every such outcome is one a write-back cache
 * that destages in any order can produce; an older write landing over a
 * newer one (which no cache does) is never produced.
 */
#include <errno.h>
#include <string.h>

#include "bdev_internal.h"
#include "ram_internal.h"

struct crash_walk {
	const struct bdev_loss_policy *p;
	uint64_t rng;
	uint64_t index; /* of the next non-FUA record */
	uint32_t bs;
};

static bool crash_coin(struct crash_walk *w)
{
	return (bdev_rng_next(&w->rng) & 1) != 0;
}

/* Whether the whole of a non-FUA record survives (not the per-block mode). */
static bool crash_keep(struct crash_walk *w)
{
	uint64_t i = w->index++;

	switch (w->p->mode) {
	case BDEV_LOSS_KEEP_ALL:
		return true;
	case BDEV_LOSS_KEEP_PREFIX:
		return i < w->p->keep;
	case BDEV_LOSS_KEEP_RANDOM:
		return crash_coin(w);
	case BDEV_LOSS_DROP_ALL:
	case BDEV_LOSS_KEEP_RANDOM_BLOCKS:
		break;
	}
	return false;
}

static void crash_apply_torn(struct crash_walk *w, const struct ram_rec *r,
			     unsigned char *img)
{
	w->index++;
	for (uint64_t off = r->off; off < r->off + r->len; off += w->bs) {
		if (crash_coin(w))
			ram_rec_apply(r, img, off, w->bs);
	}
}

static void crash_apply(struct crash_walk *w, const struct ram_rec *r,
			unsigned char *img)
{
	if (r->fua)
		ram_rec_apply(r, img, r->off, r->len);
	else if (w->p->mode == BDEV_LOSS_KEEP_RANDOM_BLOCKS)
		crash_apply_torn(w, r, img);
	else if (crash_keep(w))
		ram_rec_apply(r, img, r->off, r->len);
}

static bool crash_policy_valid(const struct bdev_loss_policy *p)
{
	return (unsigned int)p->mode <= BDEV_LOSS_KEEP_RANDOM_BLOCKS;
}

/* Fill the new device @dst from @src's media and log; @src is locked. */
static void crash_fill(struct ram_bdev *src, struct ram_bdev *dst,
		       const struct bdev_loss_policy *p, size_t bytes)
{
	struct crash_walk w = {
		.p = p, .rng = p->seed, .bs = src->cfg.block_size,
	};

	if (!src->cfg.volatile_cache) {
		memcpy(dst->cur, src->cur, bytes);
		return;
	}
	memcpy(dst->cur, src->durable, bytes);
	for (const struct ram_rec *r = src->head; r; r = r->next)
		crash_apply(&w, r, dst->cur);
	memcpy(dst->durable, dst->cur, bytes);
}

int bdev_ram_crash_image(struct bdev *b, const struct bdev_loss_policy *p,
			 struct bdev **out)
{
	struct ram_bdev *src = ram_bdev_get(b);
	struct bdev_ram_config cfg;
	struct bdev *nb;
	int rc;

	if (!src || !crash_policy_valid(p))
		return -EINVAL;
	pthread_mutex_lock(&src->lock);
	cfg = src->cfg;
	cfg.block_count = bdev_block_count(b);
	rc = bdev_ram_create(&cfg, &nb);
	if (rc == 0)
		crash_fill(src, ram_bdev_get(nb), p,
			   (size_t)(cfg.block_count * cfg.block_size));
	pthread_mutex_unlock(&src->lock);
	if (rc == 0)
		*out = nb;
	return rc;
}
