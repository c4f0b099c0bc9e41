// SPDX-License-Identifier: MIT
/*
 * req.c - the life of an md call: allocated on the caller's thread, run on
 * the md thread, completed back on the caller's thread.  Metadata calls
 * may allocate; the data path never comes here.
 */
#include <errno.h>
#include <stdlib.h>

#include "blob_internal.h"

/* Completion of a request that could not even be allocated. */
struct req_nomem {
	struct reactor_msg msg;
	blob_cb cb;
	void *arg;
};

static void req_nomem_run(void *arg)
{
	struct req_nomem *n = arg;

	n->cb(n->arg, -ENOMEM);
	free(n);
}

static struct reactor *req_origin(struct blob_store *bs)
{
	struct reactor *r = reactor_current();

	return r ? r : bs->md;
}

void *blob_req_new(struct blob_store *bs, size_t size, blob_cb cb, void *arg)
{
	struct blob_req *r = calloc(1, size);
	struct req_nomem *n;

	if (r) {
		r->bs = bs;
		r->origin = req_origin(bs);
		r->cb = cb;
		r->cb_arg = arg;
		return r;
	}
	/* a smaller allocation may still work; if not there is no way to
	 * report at all, and the caller waits forever, as on any OOM kill */
	n = malloc(sizeof(*n));
	if (n) {
		n->cb = cb;
		n->arg = arg;
		n->msg.fn = req_nomem_run;
		n->msg.arg = n;
		reactor_msg_send(req_origin(bs), &n->msg);
	}
	return NULL;
}

static void req_run(void *arg)
{
	struct blob_req *r = arg;

	r->bs->reqs++;
	r->start(r);
}

void blob_req_start(struct blob_req *r, void (*fn)(struct blob_req *r))
{
	r->start = fn;
	r->msg.fn = req_run;
	r->msg.arg = r;
	reactor_msg_send(r->bs->md, &r->msg);
}

static void req_finish(void *arg)
{
	struct blob_req *r = arg;

	r->cb(r->cb_arg, r->err);
	free(r);
}

void blob_req_done(struct blob_req *r, int err)
{
	r->bs->reqs--;
	r->err = err;
	r->msg.fn = req_finish;
	r->msg.arg = r;
	reactor_msg_send(r->origin, &r->msg);
}

void blob_req_fail(struct blob_req *r, int err)
{
	r->err = err;
	r->msg.fn = req_finish;
	r->msg.arg = r;
	reactor_msg_send(r->origin, &r->msg);
}

/* A callback run later on the md thread. */
struct defer {
	struct reactor_msg msg;
	blob_cb cb;
	void *arg;
	int err;
};

static void defer_run(void *arg)
{
	struct defer *d = arg;

	d->cb(d->arg, d->err);
	free(d);
}

void blob_defer(struct blob_store *bs, blob_cb cb, void *arg, int err)
{
	struct defer *d = malloc(sizeof(*d));

	if (!d) {
		/* inline is the lesser evil than never */
		cb(arg, err);
		return;
	}
	d->cb = cb;
	d->arg = arg;
	d->err = err;
	d->msg.fn = defer_run;
	d->msg.arg = d;
	reactor_msg_send(bs->md, &d->msg);
}
