// SPDX-License-Identifier: MIT
/*
 * map.c - the cluster maps the data path reads (blob_internal.h, struct
 * blob_map): creation, copies, publication and retirement.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blob_internal.h"

struct blob_map *blob_map_new(uint64_t clusters, uint32_t flags,
			      const struct blob_map *parent)
{
	struct blob_map *m;

	if (clusters > (SIZE_MAX - sizeof(*m)) / sizeof(m->slot[0]))
		return NULL;
	m = calloc(1, sizeof(*m) + (size_t)clusters * sizeof(m->slot[0]));
	if (!m)
		return NULL;
	m->clusters = clusters;
	m->flags = flags;
	m->parent = parent;
	return m;
}

struct blob_map *blob_map_resized(const struct blob_map *m, uint64_t clusters)
{
	struct blob_map *n = blob_map_new(clusters, m->flags, m->parent);
	uint64_t keep = clusters < m->clusters ? clusters : m->clusters;

	if (!n)
		return NULL;
	for (uint64_t i = 0; i < keep; i++)
		blob_map_set(n, i, blob_map_get(m, i));
	return n;
}

static void map_retire_run(struct blob_retire *r)
{
	struct blob_map *m = blob_container_of(r, struct blob_map, retire);

	for (uint32_t i = 0; i < m->nrelease; i++)
		blob_cluster_give(m->bs, m->release[i]);
	if (m->nrelease) {
		blob_stats_update(m->bs);
		blob_cluster_released(m->bs, m->nrelease);
	}
	free(m->release);
	free(m);
}

void blob_map_publish(struct blob *b, struct blob_map *m, uint32_t *release,
		      uint32_t n)
{
	struct blob_map *old = atomic_exchange(&b->map, m);

	blob_pub_update(b);
	if (!old) {
		free(release);
		return;
	}
	old->bs = b->bs;
	old->release = release;
	old->nrelease = n;
	blob_cluster_releasing(b->bs, n);
	old->retire.fn = map_retire_run;
	blob_retire(b->bs, &old->retire);
}

uint32_t blob_map_lookup_chain(const struct blob_map *m, uint64_t idx)
{
	for (; m; m = m->parent) {
		uint32_t c;

		if (idx >= m->clusters)
			return 0;
		c = blob_map_get(m, idx);
		if (c)
			return c;
	}
	return 0;
}
