// SPDX-License-Identifier: MIT
/*
 * overlay.c - the md pages committed since the last checkpoint.
 *
 * A committed md page is not written to its home location until the next
 * checkpoint (FORMAT.md O3); until then the journal holds it, and so does
 * this table, which every md page read consults first.  It never holds more
 * pages than the journal, so it is a fixed-size open-addressing hash of page
 * index to page image.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

#define OV_EMPTY BLOB_PAGE_NONE

int blob_overlay_init(struct blob_overlay *o, size_t max_pages)
{
	size_t cap = 16;

	while (cap < max_pages * 2)
		cap *= 2;
	o->keys = malloc(cap * sizeof(*o->keys));
	o->imgs = calloc(cap, sizeof(*o->imgs));
	o->cap = cap;
	o->n = 0;
	if (!o->keys || !o->imgs) {
		blob_overlay_destroy(o);
		return -ENOMEM;
	}
	memset(o->keys, 0xFF, cap * sizeof(*o->keys));
	return 0;
}

void blob_overlay_destroy(struct blob_overlay *o)
{
	if (o->keys && o->imgs)
		blob_overlay_clear(o);
	free(o->keys);
	free(o->imgs);
	o->keys = NULL;
	o->imgs = NULL;
}

static size_t ov_hash(const struct blob_overlay *o, uint32_t page)
{
	return (size_t)(page * 2654435761u) & (o->cap - 1);
}

/* Slot holding @page, or the empty slot where it would go. */
static size_t ov_slot(const struct blob_overlay *o, uint32_t page)
{
	size_t i = ov_hash(o, page);

	while (o->keys[i] != OV_EMPTY && o->keys[i] != page)
		i = (i + 1) & (o->cap - 1);
	return i;
}

void *blob_overlay_get(const struct blob_overlay *o, uint32_t page)
{
	size_t i = ov_slot(o, page);

	return o->keys[i] == page ? o->imgs[i] : NULL;
}

int blob_overlay_put(struct blob_overlay *o, uint32_t page, void *img)
{
	size_t i = ov_slot(o, page);

	if (o->keys[i] == page) {
		free(o->imgs[i]);
		o->imgs[i] = img;
		return 0;
	}
	/* keep the table at most half full so probes stay short */
	if ((o->n + 1) * 2 > o->cap)
		return -ENOMEM;
	o->keys[i] = page;
	o->imgs[i] = img;
	o->n++;
	return 0;
}

void blob_overlay_clear(struct blob_overlay *o)
{
	for (size_t i = 0; i < o->cap; i++) {
		free(o->imgs[i]);
		o->imgs[i] = NULL;
		o->keys[i] = OV_EMPTY;
	}
	o->n = 0;
}

static int ov_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void blob_overlay_pages(const struct blob_overlay *o, uint32_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < o->cap; i++) {
		if (o->keys[i] != OV_EMPTY)
			out[n++] = o->keys[i];
	}
	if (n > 1)
		qsort(out, n, sizeof(*out), ov_cmp);
}
