// SPDX-License-Identifier: MIT
/* session.c - the FUSE session over the device: INIT, DESTROY, FORGET. */
#include <errno.h>
#include <string.h>

#include "frontend/device_internal.h"
#include "vhostfs/log.h"

#define FUSE_DEFAULT_PAGES 32u  /* what Linux uses without FUSE_MAX_PAGES */
#define FUSE_PAGES_LIMIT 256u   /* Linux's ceiling for max_pages */

/* What a Linux 6.x guest offers, minus features that would change the
 * semantics the workloads measure (writeback cache, DAX, locks). */
static const uint32_t init_flags_offered =
	FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
	FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_AUTO_INVAL_DATA |
	FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
	FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_ABORT_ERROR |
	FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_EXPLICIT_INVAL_DATA |
	FUSE_HANDLE_KILLPRIV_V2 | FUSE_INIT_EXT;

static int session_init_check(struct fe_dev *d, const struct fe_req *r)
{
	struct fuse_init_out out = { 0 };

	memcpy(&out, fe_fuse_reply(r), r->reply_len);
	if (out.major != FUSE_KERNEL_VERSION) {
		log_error("bench: daemon speaks FUSE %u.%u, we need 7.x",
			  out.major, out.minor);
		return -EPROTO;
	}
	if (out.minor >= 23 && r->reply_len != sizeof(out)) {
		log_error("bench: FUSE 7.%u INIT reply of %u bytes, want %zu",
			  out.minor, r->reply_len, sizeof(out));
		return -EPROTO;
	}
	if (out.flags & ~init_flags_offered)
		log_warn("bench: daemon set INIT flags we did not offer: 0x%x",
			 out.flags & ~init_flags_offered);
	d->fuse_minor = out.minor;
	d->init_flags = out.flags & init_flags_offered;
	/* Linux's rules: at least one page per write, max_pages only with
	 * the flag, clamped to its ceiling. */
	d->max_write = out.max_write < FE_PAGE_SIZE ? FE_PAGE_SIZE : out.max_write;
	d->max_pages = FUSE_DEFAULT_PAGES;
	if (d->init_flags & FUSE_MAX_PAGES)
		d->max_pages = out.max_pages == 0 ? 1 : out.max_pages;
	if (d->max_pages > FUSE_PAGES_LIMIT)
		d->max_pages = FUSE_PAGES_LIMIT;
	log_info("bench: FUSE 7.%u, max_write %u, max_pages %u, flags 0x%x",
		 out.minor, out.max_write, d->max_pages, d->init_flags);
	return 0;
}

int fe_dev_fuse_init(struct fe_dev *d)
{
	struct fe_queue *q = fe_dev_queue(d, 1);
	struct fe_req *r = fe_queue_get(q);
	int err;

	if (!r)
		return -EBUSY;
	fe_fuse_init(r, init_flags_offered, 0, 128 * 1024);
	err = fe_queue_call(q, r);
	if (err)
		log_error("bench: FUSE_INIT failed: %s", strerror(-err));
	else
		err = session_init_check(d, r);
	fe_queue_put(q, r);
	d->fuse_up = !err;
	return err;
}

int fe_dev_fuse_destroy(struct fe_dev *d)
{
	struct fe_queue *q = fe_dev_queue(d, 1);
	struct fe_req *r;
	int err;

	if (!d->fuse_up)
		return 0;
	r = fe_queue_get(q);
	if (!r)
		return -EBUSY;
	fe_fuse_destroy(r);
	err = fe_queue_call(q, r);
	fe_queue_put(q, r);
	d->fuse_up = false;
	if (err)
		log_error("bench: FUSE_DESTROY failed: %s", strerror(-err));
	return err;
}

uint32_t fe_dev_max_read(const struct fe_dev *d)
{
	return d->max_pages * FE_PAGE_SIZE;
}

uint32_t fe_dev_max_write(const struct fe_dev *d)
{
	uint32_t pages = d->max_pages * FE_PAGE_SIZE;

	return d->max_write < pages ? d->max_write : pages;
}

static void forget_done(struct fe_req *r, int err)
{
	struct fe_queue *q = r->owner;

	if (err)
		log_error("bench: FORGET came back malformed");
	fe_queue_put(q, r);
}

/* A free hiprio slot, waiting for the device to return one if needed. */
static int forget_slot(struct fe_queue *q, struct fe_req **out)
{
	for (;;) {
		int n = fe_queue_reap(q);

		if (n < 0)
			return n;
		*out = fe_queue_get(q);
		if (*out)
			return 0;
		n = fe_queue_wait(q, q->cfg.timeout_ms);
		if (n)
			return n;
	}
}

int fe_dev_forget(struct fe_dev *d, uint64_t nodeid, uint64_t nlookup)
{
	struct fe_queue *q = &d->q[0];
	struct fe_req *r;
	int err;

	pthread_mutex_lock(&q->lock);
	err = forget_slot(q, &r);
	if (!err) {
		fe_fuse_forget(r, nodeid, nlookup);
		r->done = forget_done;
		r->owner = q;
		err = fe_queue_submit(q, r);
		if (err)
			fe_queue_put(q, r);
		else
			d->forgets++;
		fe_queue_kick(q);
	}
	pthread_mutex_unlock(&q->lock);
	return err;
}

int fe_dev_forget_drain(struct fe_dev *d)
{
	struct fe_queue *q = &d->q[0];
	int err = 0;

	pthread_mutex_lock(&q->lock);
	while (q->busy && !err) {
		int n = fe_queue_reap(q);

		if (n < 0)
			err = n;
		else if (n == 0 && q->busy)
			err = fe_queue_wait(q, q->cfg.timeout_ms);
	}
	pthread_mutex_unlock(&q->lock);
	if (err)
		log_error("bench: %u FORGETs not returned: %s", q->busy,
			  strerror(-err));
	return err;
}
