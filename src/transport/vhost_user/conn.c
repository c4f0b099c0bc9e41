// SPDX-License-Identifier: MIT
/*
 * conn.c - one front-end connection: read messages, dispatch them one at a
 * time, apply queue changes on the owner threads, tear everything down.
 *
 * A handler that must wait for queue owners (GET_VRING_BASE, memory map
 * changes, kick/call changes of a running queue, RESET_DEVICE) returns
 * VU_ASYNC; reading stops until it completes, so messages are applied in
 * order and there is never more than one vu_conn_sync() in progress.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhostfs/log.h"

#include "device_internal.h"

static void conn_process(struct vu_conn *c);
static void conn_teardown_maybe(struct vu_conn *c);

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* --- queue owner round trips ------------------------------------------- */

static void conn_sync_put(struct vu_conn *c)
{
	if (--c->sync_pending == 0)
		c->sync_done(c);
}

static void conn_sync_self(void *arg)
{
	conn_sync_put(arg);
}

static void conn_queue_ctl_run(void *arg)
{
	struct vu_queue *q = arg;

	q->ctl_fn(q);
}

static void conn_queue_acked(void *arg)
{
	struct vu_queue *q = arg;

	conn_sync_put(q->conn);
}

void vu_queue_ctl_ack(struct vu_queue *q)
{
	q->ctl_ack.fn = conn_queue_acked;
	q->ctl_ack.arg = q;
	reactor_msg_send(q->conn->control, &q->ctl_ack);
}

static void conn_queue_send(struct vu_conn *c, struct vu_queue *q,
			    vu_queue_op op)
{
	c->sync_pending++;
	q->ctl_fn = op;
	q->ctl_msg.fn = conn_queue_ctl_run;
	q->ctl_msg.arg = q;
	reactor_msg_send(q->owner, &q->ctl_msg);
}

void vu_conn_sync(struct vu_conn *c, struct vu_queue *only, vu_queue_op op,
		  void (*done)(struct vu_conn *c))
{
	c->sync_done = done;
	/* our own token: done() never runs inside this call */
	c->sync_pending = 1;
	for (unsigned int i = 0; i < c->nqueues; i++) {
		struct vu_queue *q = &c->queues[i];

		if (q->started && (!only || only == q))
			conn_queue_send(c, q, op);
	}
	c->sync_self.fn = conn_sync_self;
	c->sync_self.arg = c;
	reactor_msg_send(c->control, &c->sync_self);
}

/* --- memory map replacement -------------------------------------------- */

static void conn_graves_flush(struct vu_conn *c)
{
	for (unsigned int i = 0; i < c->ngraves; i++)
		vu_mem_map_destroy(c->graves[i]);
	free(c->graves);
	c->graves = NULL;
	c->ngraves = 0;
}

static void conn_grave_add(struct vu_conn *c, struct vu_mem_map *m)
{
	struct vu_mem_map **g;

	g = realloc(c->graves, (c->ngraves + 1) * sizeof(*g));
	if (!g) {
		/* Unmapping under a request in flight would be worse: leak. */
		log_error("vhost-user: out of memory, leaking a retired region");
		vu_mem_map_free(m);
		return;
	}
	c->graves = g;
	c->graves[c->ngraves++] = m;
}

/*
 * Requests in flight when the owners switched maps may still point into
 * retired regions; those are unmapped once a later switch finds none.
 */
static void conn_mem_finish(struct vu_conn *c, unsigned int inflight)
{
	if (inflight == 0)
		conn_graves_flush(c);
	if (c->mem_retired) {
		if (inflight == 0)
			vu_mem_map_destroy(c->mem_retired);
		else
			conn_grave_add(c, c->mem_retired);
	}
	if (c->mem_old != c->mem_retired)
		vu_mem_map_free(c->mem_old);
	c->mem_old = NULL;
	c->mem_retired = NULL;
}

static void conn_mem_remapped(struct vu_conn *c)
{
	unsigned int inflight = 0;

	for (unsigned int i = 0; i < c->nqueues; i++) {
		if (c->queues[i].started)
			inflight += c->queues[i].ctl_inflight;
	}
	conn_mem_finish(c, inflight);
	vu_conn_msg_complete(c, 0);
}

static bool conn_any_started(const struct vu_conn *c)
{
	for (unsigned int i = 0; i < c->nqueues; i++) {
		if (c->queues[i].started)
			return true;
	}
	return false;
}

int vu_conn_mem_commit(struct vu_conn *c, struct vu_mem_map *map,
		       struct vu_mem_map *retired)
{
	c->mem_old = c->mem;
	c->mem = map;
	c->mem_retired = retired;
	if (!conn_any_started(c)) {
		conn_mem_finish(c, 0);
		return 0;
	}
	for (unsigned int i = 0; i < c->nqueues; i++)
		c->queues[i].ctl_arg.mem = map;
	vu_conn_sync(c, NULL, vu_queue_op_remap, conn_mem_remapped);
	return VU_ASYNC;
}

/* --- queue and session reset ------------------------------------------- */

static void conn_queue_clear(struct vu_queue *q)
{
	if (q->started)
		vu_queue_release(q);
	close_fd(&q->kick_fd);
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	q->num = 0;
	q->addrs_set = false;
	q->base = 0;
	q->kick_set = false;
	q->enabled = false;
}

void vu_conn_queues_reset(struct vu_conn *c)
{
	for (unsigned int i = 0; i < c->nqueues; i++)
		conn_queue_clear(&c->queues[i]);
	/* nothing is in flight any more */
	conn_graves_flush(c);
}

static void conn_session_drop(struct vu_conn *c)
{
	struct vhost_user_device *d = c->dev;

	if (c->session)
		d->engine.session_destroy(d->engine.ctx, c->session);
	c->session = NULL;
}

int vu_conn_session_renew(struct vu_conn *c)
{
	struct vhost_user_device *d = c->dev;

	conn_session_drop(c);
	return d->engine.session_create(d->engine.ctx, &c->session);
}

/* --- lifetime ---------------------------------------------------------- */

static void conn_free(struct vu_conn *c)
{
	vu_conn_queues_reset(c);
	conn_session_drop(c);
	vu_mem_map_destroy(c->mem);
	vu_msg_reader_reset(&c->reader);
	vu_msg_close_fds(&c->msg);
	close_fd(&c->backend_fd);
	close_fd(&c->sock);
	free(c);
}

int vu_conn_create(struct vhost_user_device *d, int sock,
		   struct vu_conn **out)
{
	struct vu_conn *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		close(sock);
		return -ENOMEM;
	}
	c->dev = d;
	c->control = d->cfg.control;
	c->sock = sock;
	c->backend_fd = -1;
	vu_msg_reader_init(&c->reader);
	c->nqueues = 1 + d->cfg.num_request_queues;
	for (unsigned int i = 0; i < c->nqueues; i++) {
		struct vu_queue *q = &c->queues[i];

		q->conn = c;
		q->index = i;
		q->owner = d->cfg.nthreads ? d->threads[i % d->cfg.nthreads]
					   : d->cfg.control;
		q->kick_fd = q->call_fd = q->err_fd = -1;
	}
	c->mem = vu_mem_map_empty();
	rc = c->mem ? vu_conn_session_renew(c) : -ENOMEM;
	if (rc) {
		conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void conn_teardown_drained(struct vu_conn *c)
{
	struct vhost_user_device *d = c->dev;

	conn_free(c);
	vu_device_conn_closed(d);
}

static void conn_teardown_maybe(struct vu_conn *c)
{
	if (!c->closing || c->sock_armed || c->busy || c->tearing_down)
		return;
	c->tearing_down = true;
	vu_conn_sync(c, NULL, vu_queue_op_drain, conn_teardown_drained);
}

void vu_conn_close(struct vu_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->sock_armed)
		reactor_cancel(c->control, &c->sock_op);
	conn_teardown_maybe(c);
}

/* --- messages ---------------------------------------------------------- */

static bool conn_wants_ack(const struct vu_conn *c, const struct vu_msg *m)
{
	return !vu_request_has_reply(m->hdr.request) &&
	       (m->hdr.flags & VU_FLAG_NEED_REPLY) &&
	       (c->protocol_features & (1ull << VU_PROTOCOL_F_REPLY_ACK));
}

/* REPLY_ACK, fd cleanup; an error nobody can be told about disconnects. */
static void conn_msg_finish(struct vu_conn *c, int rc)
{
	struct vu_msg *m = &c->msg;
	bool reported = false;

	vu_msg_close_fds(m);
	if (rc < 0)
		log_error("vhost-user: %s failed: %s",
			  vu_request_name(m->hdr.request), strerror(-rc));
	if (conn_wants_ack(c, m)) {
		uint64_t status = rc < 0 ? 1 : 0;

		reported = vu_msg_reply(c->sock, m->hdr.request, &status,
					sizeof(status)) == 0;
		if (!reported && rc >= 0)
			rc = -EIO;
	}
	c->busy = false;
	if (rc < 0 && !reported)
		vu_conn_close(c);
}

static void conn_dispatch(struct vu_conn *c)
{
	bool fatal = false;
	int rc;

	c->busy = true;
	atomic_fetch_add_explicit(&c->dev->stat_messages, 1,
				  memory_order_relaxed);
	rc = vu_handle_msg(c, &c->msg, &fatal);
	if (fatal) {
		vu_msg_close_fds(&c->msg);
		c->busy = false;
		vu_conn_close(c);
		return;
	}
	if (rc != VU_ASYNC)
		conn_msg_finish(c, rc);
}

void vu_conn_msg_complete(struct vu_conn *c, int rc)
{
	conn_msg_finish(c, rc);
	if (c->closing)
		conn_teardown_maybe(c);
	else
		conn_process(c);
}

static void conn_sock_cpl(void *arg, int res);

static void conn_sock_arm(struct vu_conn *c)
{
	if (c->sock_armed || c->detached)
		return;
	reactor_op_init(&c->sock_op, conn_sock_cpl, c);
	c->sock_armed = true;
	reactor_poll_fd(c->control, &c->sock_op, c->sock, POLLIN);
}

static void conn_process(struct vu_conn *c)
{
	while (!c->busy && !c->closing) {
		int rc = vu_msg_reader_next(&c->reader, &c->msg);

		if (rc == 0) {
			conn_sock_arm(c);
			return;
		}
		if (rc < 0) {
			log_error("vhost-user: malformed message header");
			vu_conn_close(c);
			return;
		}
		conn_dispatch(c);
	}
}

static void conn_sock_cpl(void *arg, int res)
{
	struct vu_conn *c = arg;
	long n;

	c->sock_armed = false;
	if (c->closing) {
		conn_teardown_maybe(c);
		return;
	}
	n = res < 0 ? res : vu_msg_recv(c->sock, &c->reader);
	if (n == -EAGAIN || n == -EINTR) {
		conn_sock_arm(c);
		return;
	}
	if (n <= 0) {
		if (n == 0)
			log_info("vhost-user: front-end disconnected");
		else
			log_error("vhost-user: socket: %s", strerror((int)-n));
		vu_conn_close(c);
		return;
	}
	conn_process(c);
}

void vu_conn_start(struct vu_conn *c)
{
	conn_sock_arm(c);
}

size_t vu_conn_feed(struct vu_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	c->detached = true;
	while (done < len && !c->closing && !c->busy) {
		size_t room = sizeof(c->reader.buf) - c->reader.len;
		size_t n = len - done < room ? len - done : room;

		memcpy(c->reader.buf + c->reader.len, p + done, n);
		done += n;
		if (vu_msg_reader_feed(&c->reader, n, NULL, 0)) {
			vu_conn_close(c);
			break;
		}
		conn_process(c);
	}
	return done;
}
