// SPDX-License-Identifier: MIT
/*
 * vu_engine.c - the FUSE engine as the vhost-user device calls it, with a
 * request count per reactor thread logged when a session ends (a front-end
 * disconnected, or reset its device).
 *
 * The line, at info level:
 *   vhostfsd: session ended: N requests; per thread: control[q0]=A t1[q1]=B ...
 * names each thread with the queues it serves.  tests/guest checks it to
 * prove that a multiqueue guest used every request queue.
 */
#include <stdio.h>

#include "app/vu_engine_internal.h"
#include "vhostfs/log.h"

static _Thread_local unsigned int vu_engine_slot;

void vhostfsd_vu_engine_thread_slot(unsigned int slot)
{
	vu_engine_slot = slot < VHOSTFSD_VU_SLOTS ? slot : 0;
}

static int vu_engine_session_create(void *ctx, struct fuse_session **out)
{
	struct vhostfsd_vu_engine *e = ctx;

	/* one session at a time: its counts start from zero */
	for (unsigned int i = 0; i < e->nslots; i++)
		atomic_store_explicit(&e->count[i].requests, 0,
				      memory_order_relaxed);
	return fuse_session_create(out, &e->fc);
}

/* "control[q0]" or "t2[q2,q4]": the slot and the queues it serves. */
static size_t vu_engine_slot_name(const struct vhostfsd_vu_engine *e,
				  unsigned int slot, char *buf, size_t len)
{
	int n = slot ? snprintf(buf, len, "t%u[", slot)
		     : snprintf(buf, len, "control[");
	size_t used = n > 0 ? (size_t)n : 0;
	const char *sep = "";

	for (unsigned int q = 0; q < e->nqueues && used < len; q++) {
		if (e->queue_slot[q] != slot)
			continue;
		n = snprintf(buf + used, len - used, "%sq%u", sep, q);
		used += n > 0 ? (size_t)n : 0;
		sep = ",";
	}
	if (used < len)
		used += (size_t)snprintf(buf + used, len - used, "]");
	return used < len ? used : len - 1;
}

static void vu_engine_log(struct vhostfsd_vu_engine *e)
{
	char line[1024], name[512];
	size_t used = 0;
	uint64_t total = 0;

	for (unsigned int i = 0; i < e->nslots; i++) {
		uint64_t n = atomic_load_explicit(&e->count[i].requests,
						  memory_order_relaxed);

		vu_engine_slot_name(e, i, name, sizeof(name));
		if (used < sizeof(line))
			used += (size_t)snprintf(line + used,
						 sizeof(line) - used, " %s=%llu",
						 name, (unsigned long long)n);
		total += n;
	}
	e->sessions++;
	e->total_requests += total;
	log_info("vhostfsd: session ended: %llu requests; per thread:%s",
		 (unsigned long long)total, line);
}

static void vu_engine_session_destroy(void *ctx, struct fuse_session *s)
{
	vu_engine_log(ctx);
	fuse_session_destroy(s);
}

static void vu_engine_process(void *ctx, struct fuse_session *s,
			      struct fuse_request *req)
{
	struct vhostfsd_vu_engine *e = ctx;
	_Atomic uint64_t *c = &e->count[vu_engine_slot].requests;

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) +
				      1, memory_order_relaxed);
	fuse_session_process(s, req);
}

void vhostfsd_vu_engine_init(struct vhostfsd_vu_engine *e,
			     struct vhost_user_engine *hooks)
{
	hooks->session_create = vu_engine_session_create;
	hooks->session_destroy = vu_engine_session_destroy;
	hooks->process = vu_engine_process;
	hooks->ctx = e;
}
