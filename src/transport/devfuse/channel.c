// SPDX-License-Identifier: MIT
/*
 * channel.c - serving one /dev/fuse channel from one reactor thread.
 *
 * Each thread starts with queue_depth slots.  A slot cycles through
 *
 *   READING --(request)--> BUSY --(engine done, reply written)--> READING
 *
 * so up to queue_depth requests of this channel are inside the engine at
 * once while the other slots wait in the kernel for the next request.  The
 * buffers of a slot are allocated once; nothing is allocated per request
 * (see devfuse_internal.h for why each buffer comes in two pieces).
 *
 * A request may wait inside the engine for a long time (a SETLKW until
 * another client unlocks).  If waiting requests held every slot, the request
 * that ends the wait (the unlock, or FUSE_INTERRUPT) could never be read:
 * so when no slot of a thread has been reading for DEVFUSE_STARVE_NS, the
 * thread adds a slot, up to DEVFUSE_SLOTS_MAX.  Added slots stay for the
 * thread's life; allocation happens only in that stall, never per request,
 * and queue_depth stays the bound while requests finish quickly.
 *
 * The engine may complete a request inline, i.e. done() runs before
 * fuse_session_process() returns.  done() re-arms the slot's read, so the
 * code that called fuse_session_process() must not touch the slot after it.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "transport/devfuse/devfuse_internal.h"
#include "vhostfs/log.h"

/* Reply write errors are logged this often at most (first few, then rarely). */
#define DEVFUSE_WRITE_ERR_LOG_FIRST 8
#define DEVFUSE_WRITE_ERR_LOG_EVERY 4096

uint64_t devfuse_drain_ns = DEVFUSE_DRAIN_NS;

static void devfuse_slot_arm(struct devfuse_slot *s);
static void devfuse_thread_stop(struct devfuse_thread *t);
static void devfuse_thread_watch_starve(struct devfuse_thread *t);

static size_t devfuse_page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

_Static_assert(DEVFUSE_IN_HEAD == sizeof(struct fuse_in_header) +
	       sizeof(struct fuse_write_in), "WRITE data must start the body");
_Static_assert(DEVFUSE_OUT_HEAD == sizeof(struct fuse_out_header),
	       "READ data must start the body");

/* Body of the request buffer: WRITE data plus room for the other args. */
static size_t devfuse_in_size(const struct devfuse *d)
{
	return devfuse_page_round((size_t)d->max_write + DEVFUSE_IN_HEADROOM);
}

/* Body of the reply buffer: READ data (max_read = max_write). */
static size_t devfuse_out_size(const struct devfuse *d)
{
	return devfuse_page_round((size_t)d->max_write);
}

/* The first @len bytes of @src[0..2) into @dst; returns the count. */
static unsigned int devfuse_iov_clip(const struct iovec *src, size_t len,
				     struct iovec *dst)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < 2 && len > 0; i++) {
		dst[n].iov_base = src[i].iov_base;
		dst[n].iov_len = len < src[i].iov_len ? len : src[i].iov_len;
		len -= dst[n].iov_len;
		n++;
	}
	return n;
}

/* --- end of life ---------------------------------------------------------- */

static void devfuse_thread_maybe_finish(struct devfuse_thread *t)
{
	if (!t->stopping || t->pending > 0)
		return;
	/* the timers' callbacks come back here once they are gone */
	if (t->drain_armed)
		reactor_cancel(t->reactor, &t->drain_op);
	if (t->starve_armed)
		reactor_cancel(t->reactor, &t->starve_op);
	if (!t->drain_armed && !t->starve_armed)
		reactor_stop(t->reactor);
}

static void devfuse_slot_idle(struct devfuse_slot *s)
{
	struct devfuse_thread *t = s->t;

	if (s->state == DEVFUSE_SLOT_IDLE)
		return;
	s->state = DEVFUSE_SLOT_IDLE;
	t->pending--;
	devfuse_thread_maybe_finish(t);
}

static void devfuse_drain_cpl(void *arg, int res)
{
	struct devfuse_thread *t = arg;

	t->drain_armed = false;
	if (t->pending > 0) {
		/*
		 * Requests that never finish (a SETLKW whose lock holder is
		 * gone with the client) must not keep the daemon alive, and
		 * their memory must not be freed under them: leave them.
		 */
		t->stuck = true;
		log_warn("devfuse: %s: %u request(s) still in the engine after "
			 "%llu ms, leaving them", t->name, t->pending,
			 (unsigned long long)(devfuse_drain_ns / 1000000));
		reactor_stop(t->reactor);
		return;
	}
	(void)res;
	devfuse_thread_maybe_finish(t);
}

static void devfuse_thread_stop(struct devfuse_thread *t)
{
	if (t->stopping)
		return;
	t->stopping = true;
	for (unsigned int i = 0; i < t->nslots; i++) {
		struct devfuse_slot *s = t->slots[i];

		if (s->state == DEVFUSE_SLOT_READING ||
		    s->state == DEVFUSE_SLOT_POLLING)
			reactor_cancel(t->reactor, &s->op);
	}
	if (t->pending > 0) {
		reactor_op_init(&t->drain_op, devfuse_drain_cpl, t);
		reactor_timeout(t->reactor, &t->drain_op, devfuse_drain_ns);
		t->drain_armed = true;
	}
	devfuse_thread_maybe_finish(t);
}

static void devfuse_thread_stop_msg(void *arg)
{
	devfuse_thread_stop(arg);
}

void devfuse_thread_stop_async(struct devfuse_thread *t)
{
	t->stop_msg.fn = devfuse_thread_stop_msg;
	t->stop_msg.arg = t;
	reactor_msg_send(t->reactor, &t->stop_msg);
}

/* --- replies -------------------------------------------------------------- */

static void devfuse_write_error(struct devfuse_thread *t, int err,
				size_t len)
{
	unsigned long n = t->write_errors++;

	if (n < DEVFUSE_WRITE_ERR_LOG_FIRST ||
	    n % DEVFUSE_WRITE_ERR_LOG_EVERY == 0)
		log_warn("devfuse: %s: reply of %zu bytes refused: %s "
			 "(%lu so far)", t->name, len, strerror(err), n + 1);
}

static void devfuse_slot_reply(struct devfuse_slot *s, size_t len)
{
	size_t room = s->out_iov[0].iov_len + s->out_iov[1].iov_len;
	struct iovec iov[2];
	unsigned int n;

	if (len > room) {
		/* an engine bug, never peer input: drop rather than overrun */
		log_error("devfuse: reply length %zu exceeds buffer %zu", len,
			  room);
		return;
	}
	n = devfuse_iov_clip(s->out_iov, len, iov);
	if (writev(s->t->fd, iov, (int)n) >= 0)
		return;
	/*
	 * ENOENT: the request was interrupted and already ended by the
	 * kernel.  ENODEV: the connection is gone; the reads will say so.
	 */
	if (errno == ENOENT || errno == ENODEV)
		return;
	devfuse_write_error(s->t, errno, len);
}

static void devfuse_slot_done(struct fuse_request *req, size_t reply_len)
{
	struct devfuse_slot *s = req->transport_ctx;

	if (reply_len > 0)
		devfuse_slot_reply(s, reply_len);
	devfuse_slot_arm(s);
}

/* --- reads ---------------------------------------------------------------- */

/* One line per request at debug level: opcode, unique, nodeid, length. */
static void devfuse_slot_trace(const struct devfuse_slot *s, size_t len)
{
	struct fuse_in_header ih;

	if (len < sizeof(ih))
		return; /* the engine rejects it; nothing to show */
	memcpy(&ih, s->in_head, sizeof(ih));
	log_debug("devfuse: %s: opcode %u unique %llu nodeid %llu len %zu",
		  s->t->name, ih.opcode, (unsigned long long)ih.unique,
		  (unsigned long long)ih.nodeid, len);
}

static void devfuse_slot_process(struct devfuse_slot *s, size_t len)
{
	struct devfuse *d = s->t->d;
	struct fuse_request *req = &s->req;

	if (log_get_level() >= LOG_LEVEL_DEBUG)
		devfuse_slot_trace(s, len);

	s->state = DEVFUSE_SLOT_BUSY;
	req->in = s->req_iov;
	req->in_cnt = devfuse_iov_clip(s->in_iov, len, s->req_iov);
	req->out = s->out_iov;
	req->out_cnt = 2;
	req->done = devfuse_slot_done;
	req->transport_ctx = s;
	/* may complete (and re-arm this slot) before returning */
	d->process(d->session, req);
}

static void devfuse_channel_gone(struct devfuse_slot *s)
{
	devfuse_end(s->t->d, 0, true);
	devfuse_thread_stop(s->t);
	devfuse_slot_idle(s);
}

static void devfuse_channel_failed(struct devfuse_slot *s, int err)
{
	log_error("devfuse: %s: reading the channel: %s", s->t->name,
		  strerror(-err));
	devfuse_end(s->t->d, err, false);
	devfuse_thread_stop(s->t);
	devfuse_slot_idle(s);
}

static void devfuse_slot_poll_cpl(void *arg, int res)
{
	struct devfuse_slot *s = arg;

	/* not READING/POLLING while we decide: stop() must not cancel us */
	s->state = DEVFUSE_SLOT_BUSY;
	s->t->reading--;
	if (res < 0 && res != -ECANCELED && res != -EINTR) {
		devfuse_channel_failed(s, res);
		return;
	}
	/* POLLERR/POLLHUP: the read reports what happened */
	devfuse_slot_arm(s);
}

static void devfuse_slot_poll(struct devfuse_slot *s)
{
	struct devfuse_thread *t = s->t;

	if (t->stopping) {
		devfuse_slot_idle(s);
		return;
	}
	s->state = DEVFUSE_SLOT_POLLING;
	t->reading++;
	reactor_op_init(&s->op, devfuse_slot_poll_cpl, s);
	reactor_poll_fd(t->reactor, &s->op, t->fd, POLLIN);
}

static void devfuse_slot_read_cpl(void *arg, int res)
{
	struct devfuse_slot *s = arg;

	s->state = DEVFUSE_SLOT_BUSY;
	s->t->reading--;
	if (res > 0) {
		devfuse_thread_watch_starve(s->t);
		devfuse_slot_process(s, (size_t)res);
		return;
	}
	switch (res) {
	case -ENOENT:    /* the request was interrupted before we got it */
	case -EINTR:
	case -ECANCELED: /* stop(): arm() sees t->stopping */
		devfuse_slot_arm(s);
		return;
	case -EAGAIN:    /* nothing queued and the read did not wait */
		devfuse_slot_poll(s);
		return;
	case 0:          /* end of file: only a test's socketpair does this */
	case -ENODEV:    /* unmounted or aborted */
		devfuse_channel_gone(s);
		return;
	default:
		devfuse_channel_failed(s, res);
		return;
	}
}

static void devfuse_slot_arm(struct devfuse_slot *s)
{
	struct devfuse_thread *t = s->t;

	if (t->stopping) {
		devfuse_slot_idle(s);
		return;
	}
	s->state = DEVFUSE_SLOT_READING;
	t->reading++;
	reactor_op_init(&s->op, devfuse_slot_read_cpl, s);
	/* offset -1: the current position, which /dev/fuse ignores */
	reactor_readv(t->reactor, &s->op, t->fd, s->in_iov, 2, UINT64_MAX);
}

/* --- slots --------------------------------------------------------------- */

static void devfuse_slot_free(struct devfuse_slot *s)
{
	const struct devfuse *d = s->t->d;

	munmap(s->in_iov[1].iov_base, devfuse_in_size(d) + devfuse_out_size(d));
	free(s);
}

/* A new idle slot, appended to t->slots (the caller checked the room). */
static struct devfuse_slot *devfuse_slot_new(struct devfuse_thread *t)
{
	size_t in = devfuse_in_size(t->d), out = devfuse_out_size(t->d);
	struct devfuse_slot *s = calloc(1, sizeof(*s));
	unsigned char *mem;

	if (!s)
		return NULL;
	/* page aligned, committed only when touched */
	mem = mmap(NULL, in + out, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		free(s);
		return NULL;
	}
	s->t = t;
	s->in_iov[0].iov_base = s->in_head;
	s->in_iov[0].iov_len = sizeof(s->in_head);
	s->in_iov[1].iov_base = mem;
	s->in_iov[1].iov_len = in;
	s->out_iov[0].iov_base = s->out_head;
	s->out_iov[0].iov_len = sizeof(s->out_head);
	s->out_iov[1].iov_base = mem + in;
	s->out_iov[1].iov_len = out;
	t->slots[t->nslots++] = s;
	return s;
}

/* No slot has been reading for a while: add one (see the file comment). */
static void devfuse_thread_grow(struct devfuse_thread *t)
{
	struct devfuse_slot *s;

	s = t->nslots < t->max_slots ? devfuse_slot_new(t) : NULL;
	if (!s) {
		if (!t->cap_warned)
			log_warn("devfuse: %s: all %u slots hold requests; new "
				 "requests wait in the kernel", t->name,
				 t->nslots);
		t->cap_warned = true;
		return;
	}
	t->pending++;
	s->state = DEVFUSE_SLOT_BUSY;
	devfuse_slot_arm(s);
}

static void devfuse_starve_cpl(void *arg, int res)
{
	struct devfuse_thread *t = arg;

	t->starve_armed = false;
	if (t->stopping) {
		devfuse_thread_maybe_finish(t);
		return;
	}
	if (res == 0 && t->reading == 0)
		devfuse_thread_grow(t);
	devfuse_thread_watch_starve(t);
}

/* Called when a slot took a request: if none is left reading, time it. */
static void devfuse_thread_watch_starve(struct devfuse_thread *t)
{
	if (t->reading > 0 || t->starve_armed || t->stopping)
		return;
	reactor_op_init(&t->starve_op, devfuse_starve_cpl, t);
	reactor_timeout(t->reactor, &t->starve_op, DEVFUSE_STARVE_NS);
	t->starve_armed = true;
}

static int devfuse_slots_alloc(struct devfuse_thread *t)
{
	struct devfuse *d = t->d;

	t->max_slots = d->queue_depth > DEVFUSE_SLOTS_MAX ? d->queue_depth
							  : DEVFUSE_SLOTS_MAX;
	t->slots = calloc(t->max_slots, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	for (unsigned int i = 0; i < d->queue_depth; i++) {
		if (!devfuse_slot_new(t))
			return -ENOMEM;
	}
	return 0;
}

/* --- thread life ---------------------------------------------------------- */

static unsigned int devfuse_ring_entries(unsigned int queue_depth)
{
	unsigned int n = 256;

	/* reads, polls, their cancels and the drain timer in one batch */
	while (n < 2 * queue_depth + 16)
		n *= 2;
	return n;
}

int devfuse_thread_init(struct devfuse_thread *t)
{
	struct reactor_config rc = { 0 };
	int err;

	snprintf(t->name, sizeof(t->name), "devfuse-%u", t->index);
	err = devfuse_slots_alloc(t);
	if (err < 0)
		return err;
	rc.ring_entries = devfuse_ring_entries(t->nslots);
	rc.name = t->name;
	err = reactor_create(&t->reactor, &rc);
	if (err < 0) {
		log_error("devfuse: %s: reactor: %s", t->name, strerror(-err));
		devfuse_thread_fini(t);
		return err;
	}
	return 0;
}

void devfuse_thread_fini(struct devfuse_thread *t)
{
	if (t->stuck)
		return; /* see devfuse_drain_cpl(): the engine may still write */
	if (t->reactor)
		reactor_destroy(t->reactor);
	t->reactor = NULL;
	for (unsigned int i = 0; i < t->nslots; i++)
		devfuse_slot_free(t->slots[i]);
	free(t->slots);
	t->slots = NULL;
	t->nslots = 0;
}

void *devfuse_thread_main(void *arg)
{
	struct devfuse_thread *t = arg;
	int rc;

	pthread_setname_np(pthread_self(), t->name);
	t->pending = t->nslots;
	for (unsigned int i = 0; i < t->nslots; i++) {
		t->slots[i]->state = DEVFUSE_SLOT_BUSY;
		devfuse_slot_arm(t->slots[i]);
	}
	rc = reactor_run(t->reactor);
	if (rc < 0) {
		log_error("devfuse: %s: reactor failed: %s", t->name,
			  strerror(-rc));
		devfuse_end(t->d, rc, false);
	}
	if (t->pending > 0)
		t->stuck = true;
	return NULL;
}
