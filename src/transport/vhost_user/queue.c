// SPDX-License-Identifier: MIT
/*
 * queue.c - one virtqueue's data path, on its owner thread.
 *
 * Kick (or poller) -> pop chains while request slots are free -> hand each
 * to the engine -> done(): used element; publish and call per EVENT_IDX.
 * Completions never publish one by one: those that happen while we are
 * popping go out at the end of that pass, the others (io_uring completions
 * reaped in a batch, worker results) with one message the queue sends to
 * its own reactor, which runs it after the batch - one used->idx store, one
 * barrier, at most one call and a look for new chains per loop iteration.
 * Kicks are eventfd reads on the reactor's ring, so a kick costs no syscall
 * of its own.  No locks, no allocation per request: the slot pool is
 * allocated when the ring starts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhostfs/log.h"

#include "device_internal.h"

static void queue_process(struct vu_queue *q);

static void eventfd_signal(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	/* EAGAIN: the counter is saturated, the peer is signalled anyway */
	do {
		n = write(fd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/* --- control thread ---------------------------------------------------- */

static void queue_slots_init(struct vu_queue *q)
{
	q->free = NULL;
	for (unsigned int i = q->nslots; i-- > 0;) {
		q->slots[i].q = q;
		q->slots[i].next_free = q->free;
		q->free = &q->slots[i];
	}
}

static void queue_data_reset(struct vu_queue *q)
{
	struct vu_conn *c = q->conn;

	q->d_kick_fd = q->kick_fd;
	q->d_call_fd = q->call_fd;
	q->d_err_fd = q->err_fd;
	q->d_enabled = q->enabled;
	q->d_poll = c->dev->cfg.poll || q->kick_fd < 0;
	q->inflight = 0;
	q->processing = q->rerun = false;
	q->flush_queued = false;
	q->pausing = q->draining = q->swapping = false;
	q->kick_armed = q->kick_stop = false;
	q->broken_reported = false;
	q->poller = NULL;
}

int vu_queue_prepare(struct vu_queue *q)
{
	struct vu_conn *c = q->conn;
	unsigned int depth = c->dev->cfg.queue_depth;
	int rc;

	if (!q->num || !q->addrs_set || c->mem->nregions == 0)
		return -EINVAL;
	if (!c->session)
		return -EIO; /* a failed RESET_DEVICE left none */
	rc = vu_virtq_setup(&q->vq, c->mem, q->num, &q->addrs, q->base,
			    c->features);
	if (rc)
		return rc;
	q->nslots = q->num < depth ? q->num : depth;
	q->slots = calloc(q->nslots, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	queue_slots_init(q);
	queue_data_reset(q);
	q->started = true;
	return 0;
}

void vu_queue_release(struct vu_queue *q)
{
	q->base = q->vq.last_avail;
	free(q->slots);
	q->slots = NULL;
	q->nslots = 0;
	q->free = NULL;
	/* a stopped ring restarts with a new kick (vhost-user ring states) */
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	q->kick_fd = -1;
	q->kick_set = false;
	q->started = false;
}

/* --- owner thread: state checks ---------------------------------------- */

static void queue_check_broken(struct vu_queue *q)
{
	struct vhost_user_device *d = q->conn->dev;

	if (!q->vq.broken || q->broken_reported)
		return;
	q->broken_reported = true;
	log_error("vhost-user: queue %u broken by the guest: %s", q->index,
		  strerror(-q->vq.error));
	atomic_fetch_add_explicit(&d->stat_broken, 1, memory_order_relaxed);
	if (q->d_err_fd >= 0)
		eventfd_signal(q->d_err_fd);
}

/* A drain is acknowledged once no kick op, request or flush is left. */
static void queue_idle_check(struct vu_queue *q)
{
	if (!q->draining || q->kick_armed || q->inflight || q->processing ||
	    q->flush_queued)
		return;
	q->draining = false;
	vu_queue_ctl_ack(q);
}

static void queue_flush(struct vu_queue *q)
{
	uint16_t before = q->vq.published;

	vu_virtq_publish(&q->vq);
	if (q->vq.published != before && q->d_call_fd >= 0 &&
	    vu_virtq_should_notify(&q->vq))
		eventfd_signal(q->d_call_fd);
}

/* --- owner thread: requests -------------------------------------------- */

/*
 * The batch of completions is over: publish them, signal once, and take
 * whatever the driver queued meanwhile (it may not have kicked for it).
 */
static void queue_flush_msg(void *arg)
{
	struct vu_queue *q = arg;

	q->flush_queued = false;
	queue_process(q);
}

static void queue_req_done(struct fuse_request *req, size_t reply_len)
{
	struct vu_slot *s = req->transport_ctx;
	struct vu_queue *q = s->q;
	bool starved = q->free == NULL;
	uint64_t len = reply_len < s->out_len ? reply_len : s->out_len;

	vu_virtq_push(&q->vq, s->head, len > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)len);
	s->next_free = q->free;
	q->free = s;
	q->inflight--;
	if (q->processing) {
		/* the running pass publishes; it must also pop again */
		q->rerun |= starved;
		return;
	}
	if (q->flush_queued)
		return;
	/* to our own reactor: no wake-up, runs after this reap batch */
	q->flush_queued = true;
	q->flush_msg.fn = queue_flush_msg;
	q->flush_msg.arg = q;
	reactor_msg_send(q->owner, &q->flush_msg);
}

static void queue_submit(struct vu_queue *q, struct vu_slot *s,
			 const struct vu_chain *ch)
{
	struct vhost_user_device *d = q->conn->dev;
	struct fuse_request *req = &s->req;

	q->free = s->next_free;
	q->inflight++;
	s->head = ch->head;
	s->out_len = ch->out_len;
	req->in = s->iov;
	req->in_cnt = ch->in_cnt;
	req->out = s->iov + ch->in_cnt;
	req->out_cnt = ch->out_cnt;
	req->done = queue_req_done;
	req->transport_ctx = s;
	d->engine.process(d->engine.ctx, q->conn->session, req);
}

static bool queue_can_pop(const struct vu_queue *q)
{
	return q->d_enabled && !q->pausing && !q->vq.broken && q->free;
}

static void queue_pop_all(struct vu_queue *q)
{
	while (queue_can_pop(q)) {
		struct vu_slot *s = q->free;
		struct vu_chain ch = { .iov = s->iov, .max = VU_REQ_IOV_MAX };

		if (vu_virtq_pop(&q->vq, &ch) <= 0)
			break;
		queue_submit(q, s, &ch);
	}
}

static void queue_process(struct vu_queue *q)
{
	if (q->processing) {
		q->rerun = true;
		return;
	}
	q->processing = true;
	do {
		q->rerun = false;
		if (!q->d_poll)
			vu_virtq_notify_disable(&q->vq);
		queue_pop_all(q);
		queue_flush(q);
		/* sleeping: re-enable kicks, then re-check (no lost kick) */
		if (!q->d_poll && queue_can_pop(q) &&
		    !vu_virtq_notify_enable(&q->vq))
			q->rerun = true;
	} while (q->rerun);
	q->processing = false;
	queue_check_broken(q);
	queue_idle_check(q);
}

/* --- owner thread: kicks and polling ----------------------------------- */

static void queue_kick_arm(struct vu_queue *q);
static void queue_swap_check(struct vu_queue *q);

/*
 * The kick eventfd is read through the ring: the read waits for a kick and
 * resets the counter in one operation, no read(2) of our own.
 */
static void queue_kick_cpl(void *arg, int res)
{
	struct vu_queue *q = arg;

	q->kick_armed = false;
	if (q->kick_stop) {
		q->kick_stop = false;
		queue_swap_check(q);
		queue_idle_check(q);
		return;
	}
	if (res == 0 || (res < 0 && res != -EAGAIN && res != -EINTR)) {
		/* never kicked again: say so rather than hang silently */
		vu_virtq_fail(&q->vq, res < 0 ? res : -EIO);
		queue_check_broken(q);
		return;
	}
	queue_process(q);
	queue_kick_arm(q);
}

static void queue_kick_arm(struct vu_queue *q)
{
	if (q->kick_armed || q->pausing || q->d_kick_fd < 0)
		return;
	reactor_op_init(&q->kick_op, queue_kick_cpl, q);
	q->kick_armed = true;
	reactor_read(q->owner, &q->kick_op, q->d_kick_fd, &q->kick_buf,
		     sizeof(q->kick_buf));
}

static int queue_poll(void *arg)
{
	struct vu_queue *q = arg;

	if (!queue_can_pop(q) || !vu_virtq_pending(&q->vq))
		return 0;
	queue_process(q);
	return 1;
}

static void queue_watch_start(struct vu_queue *q)
{
	int rc;

	if (!q->d_poll) {
		queue_kick_arm(q);
		return;
	}
	vu_virtq_notify_disable(&q->vq);
	rc = reactor_poller_add(q->owner, queue_poll, q, 0, &q->poller);
	if (rc) {
		log_error("vhost-user: queue %u: no poller: %s", q->index,
			  strerror(-rc));
		q->poller = NULL;
		q->d_poll = false;
		queue_kick_arm(q);
	}
}

static void queue_watch_stop(struct vu_queue *q)
{
	if (q->poller) {
		reactor_poller_remove(q->poller);
		q->poller = NULL;
	}
	if (q->kick_armed && !q->kick_stop) {
		q->kick_stop = true;
		reactor_cancel(q->owner, &q->kick_op);
	}
}

/* --- owner thread: control operations ---------------------------------- */

void vu_queue_op_start(struct vu_queue *q)
{
	queue_watch_start(q);
	/* the driver may have queued chains before the kick fd arrived */
	queue_process(q);
	vu_queue_ctl_ack(q);
}

void vu_queue_op_drain(struct vu_queue *q)
{
	q->pausing = true;
	q->draining = true;
	queue_watch_stop(q);
	queue_idle_check(q);
}

void vu_queue_op_enable(struct vu_queue *q)
{
	q->d_enabled = q->ctl_arg.enable;
	if (q->d_enabled)
		queue_process(q);
	vu_queue_ctl_ack(q);
}

void vu_queue_op_set_call(struct vu_queue *q)
{
	int old = q->d_call_fd;

	q->d_call_fd = q->ctl_arg.fd;
	q->ctl_arg.fd = old;
	/* an interrupt raised on the old fd may be lost: raise one more */
	if (q->d_call_fd >= 0)
		eventfd_signal(q->d_call_fd);
	vu_queue_ctl_ack(q);
}

void vu_queue_op_set_err(struct vu_queue *q)
{
	int old = q->d_err_fd;

	q->d_err_fd = q->ctl_arg.fd;
	q->ctl_arg.fd = old;
	vu_queue_ctl_ack(q);
}

/* Once the old kick watch is gone, watch the new fd (or poll). */
static void queue_swap_check(struct vu_queue *q)
{
	int old;

	if (!q->swapping || q->kick_armed)
		return;
	q->swapping = false;
	old = q->d_kick_fd;
	q->d_kick_fd = q->ctl_arg.fd;
	q->ctl_arg.fd = old;
	q->d_poll = q->conn->dev->cfg.poll || q->d_kick_fd < 0;
	queue_watch_start(q);
	queue_process(q);
	vu_queue_ctl_ack(q);
}

void vu_queue_op_swap_kick(struct vu_queue *q)
{
	q->swapping = true;
	queue_watch_stop(q);
	queue_swap_check(q);
}

void vu_queue_op_remap(struct vu_queue *q)
{
	vu_virtq_remap(&q->vq, q->ctl_arg.mem);
	q->ctl_inflight = q->inflight;
	queue_check_broken(q);
	vu_queue_ctl_ack(q);
}
