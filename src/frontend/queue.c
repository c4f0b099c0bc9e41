// SPDX-License-Identifier: MIT
/* queue.c - a virtqueue's request slots, submission, completion, waiting. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "frontend/queue_internal.h"
#include "vhostfs/log.h"

#define SLOT_ALIGN 64u
#define RING_ALIGN 4096u

uint64_t fe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint32_t slot_bytes(const struct fe_queue_config *cfg)
{
	uint32_t table = cfg->indirect ? fe_queue_chain_len(cfg->data_pages) *
						 (uint32_t)sizeof(struct fe_vring_desc)
				       : 0;

	return (uint32_t)align_up(FE_REQ_IN_MAX + FE_REQ_OUT_MAX + table,
				  SLOT_ALIGN);
}

uint64_t fe_queue_mem_need(const struct fe_queue_config *cfg)
{
	struct fe_vring_layout l;

	fe_vring_layout(cfg->num, &l);
	return align_up(l.total, RING_ALIGN) + RING_ALIGN +
	       (uint64_t)cfg->nreqs * slot_bytes(cfg) + RING_ALIGN +
	       (uint64_t)cfg->nreqs * cfg->data_pages * FE_PAGE_SIZE;
}

/* Buffers and chain of slot @r; the chain's descriptors are reserved now
 * and kept for the whole run. */
static int slot_setup(struct fe_queue *q, struct fe_mem *mem,
		      struct fe_req *r, uint16_t *ids, uint8_t *block,
		      uint8_t *data)
{
	uint32_t chain = fe_queue_chain_len(q->cfg.data_pages);
	int err;

	r->in = block;
	r->out = block + FE_REQ_IN_MAX;
	r->in_gpa = fe_mem_gpa(mem, r->in);
	r->out_gpa = fe_mem_gpa(mem, r->out);
	r->data = data;
	r->data_gpa = data ? fe_mem_gpa(mem, data) : 0;
	r->data_pages = q->cfg.data_pages;
	r->data_off = q->cfg.data_off;
	if (!q->cfg.indirect) {
		err = fe_vring_chain_alloc(&q->vr, (uint16_t)chain, ids);
		if (err)
			return err;
		r->ids = ids;
		r->table = q->vr.desc;
		r->head = ids[0];
		r->ndesc_max = (uint16_t)chain;
		return 0;
	}
	err = fe_vring_chain_alloc(&q->vr, 1, ids);
	if (err)
		return err;
	r->head = ids[0];
	r->indirect_head = &q->vr.desc[r->head];
	r->table = (struct fe_vring_desc *)(r->out + FE_REQ_OUT_MAX);
	r->table_gpa = fe_mem_gpa(mem, r->table);
	r->ndesc_max = (uint16_t)chain;
	return 0;
}

static int queue_slots_create(struct fe_queue *q, struct fe_mem *mem)
{
	uint32_t chain = q->cfg.indirect ? 1 : fe_queue_chain_len(q->cfg.data_pages);
	uint32_t sb = slot_bytes(&q->cfg);
	uint8_t *blocks, *data = NULL;

	q->reqs = calloc(q->cfg.nreqs, sizeof(*q->reqs));
	q->ids = calloc((size_t)q->cfg.nreqs * chain, sizeof(*q->ids));
	blocks = fe_mem_alloc(mem, (size_t)q->cfg.nreqs * sb, RING_ALIGN);
	if (q->cfg.data_pages)
		data = fe_mem_alloc(mem, (size_t)q->cfg.nreqs *
					 q->cfg.data_pages * FE_PAGE_SIZE,
				    RING_ALIGN);
	if (!q->reqs || !q->ids)
		return -ENOMEM;
	if (!blocks || (q->cfg.data_pages && !data))
		return -ENOSPC;
	for (uint32_t i = q->cfg.nreqs; i-- > 0;) {
		struct fe_req *r = &q->reqs[i];
		int err = slot_setup(q, mem, r, q->ids + (size_t)i * chain,
				     blocks + (size_t)i * sb,
				     data ? data + (size_t)i * q->cfg.data_pages *
							  FE_PAGE_SIZE
					  : NULL);

		if (err) {
			log_error("bench: queue %u: ring of %u descriptors cannot "
				  "hold %u chains of %u (raise --queue-size, "
				  "lower --qd, or allow indirect descriptors)",
				  q->cfg.index, q->cfg.num, q->cfg.nreqs, chain);
			return err;
		}
		r->next_free = q->free;
		q->free = r;
	}
	return 0;
}

/* One epoll set per queue, registered once: a wait is then a single
 * epoll_wait instead of poll() re-arming three wait queues each time. */
static int queue_epoll_add(struct fe_queue *q, int fd, uint32_t events,
			   uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(q->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int queue_epoll_create(struct fe_queue *q)
{
	int err;

	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0)
		return -errno;
	err = queue_epoll_add(q, q->callfd, EPOLLIN, 0);
	if (!err)
		err = queue_epoll_add(q, q->errfd, EPOLLIN, 2);
	if (!err && q->cfg.hangup_fd >= 0)
		err = queue_epoll_add(q, q->cfg.hangup_fd, EPOLLRDHUP, 1);
	return err;
}

int fe_queue_create(struct fe_queue *q, struct fe_mem *mem,
		    const struct fe_queue_config *cfg)
{
	struct fe_vring_layout l;
	int err;

	memset(q, 0, sizeof(*q));
	q->cfg = *cfg;
	q->kickfd = q->callfd = q->errfd = q->epfd = -1;
	pthread_mutex_init(&q->lock, NULL);
	fe_vring_layout(cfg->num, &l);
	q->ring_mem = fe_mem_alloc(mem, l.total, RING_ALIGN);
	if (!q->ring_mem)
		return -ENOSPC;
	err = fe_vring_init(&q->vr, cfg->num, q->ring_mem, cfg->event_idx);
	if (err)
		return err;
	q->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->callfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->errfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->kickfd < 0 || q->callfd < 0 || q->errfd < 0)
		return -errno;
	err = queue_epoll_create(q);
	if (err)
		return err;
	if (cfg->poll)
		fe_vring_disable_cb(&q->vr);
	return queue_slots_create(q, mem);
}

void fe_queue_destroy(struct fe_queue *q)
{
	fe_vring_fini(&q->vr);
	free(q->reqs);
	free(q->ids);
	if (q->kickfd >= 0)
		close(q->kickfd);
	if (q->callfd >= 0)
		close(q->callfd);
	if (q->errfd >= 0)
		close(q->errfd);
	if (q->epfd >= 0)
		close(q->epfd);
	pthread_mutex_destroy(&q->lock);
	q->reqs = NULL;
	q->ids = NULL;
	q->kickfd = q->callfd = q->errfd = q->epfd = -1;
}

struct fe_req *fe_queue_get(struct fe_queue *q)
{
	struct fe_req *r = q->free;

	if (r) {
		q->free = r->next_free;
		r->next_free = NULL;
	}
	return r;
}

void fe_queue_put(struct fe_queue *q, struct fe_req *r)
{
	if (r->inflight)
		return; /* still the device's: leaked until the ring dies */
	r->next_free = q->free;
	q->free = r;
}

int fe_queue_submit(struct fe_queue *q, struct fe_req *r)
{
	/* Low bit clear (FUSE reserves it for INTERRUPT); the queue index
	 * in bits 1-7 keeps ids unique across queues without sharing. */
	uint64_t unique = ++q->seq << 8 | (uint64_t)(q->cfg.index & 0x7f) << 1;
	int err = fe_fuse_prepare(r, unique, q->cfg.layout);

	if (err)
		return err;
	r->completed = false;
	r->result = 0;
	r->t_submit = fe_now_ns();
	err = fe_vring_add(&q->vr, r->head, r);
	if (err)
		return err;
	r->inflight = true;
	q->busy++;
	return 0;
}

void fe_queue_kick(struct fe_queue *q)
{
	static const uint64_t one = 1;

	if (!fe_vring_publish(&q->vr))
		return;
	q->kicks++;
	if (write(q->kickfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("bench: kick of queue %u failed: %s", q->cfg.index,
			 strerror(errno));
}

int fe_queue_reap(struct fe_queue *q)
{
	int count = 0;

	for (;;) {
		void *token;
		uint32_t len;
		struct fe_req *r;
		int got = fe_vring_get_used(&q->vr, &token, &len);

		if (got < 0) {
			log_error("bench: queue %u: device returned a descriptor "
				  "that is not in flight", q->cfg.index);
			return got;
		}
		if (got == 0)
			return count;
		r = token;
		r->inflight = false;
		q->busy--;
		r->result = fe_fuse_reply_check(r, len);
		r->completed = true;
		count++;
		if (r->done)
			r->done(r, r->result);
	}
}

static int queue_wait_poll(struct fe_queue *q, int timeout_ms)
{
	uint64_t start = fe_now_ns(), checked = start;

	for (unsigned spin = 1;; spin++) {
		uint64_t now;

		if (__atomic_load_n(&q->vr.used[1], __ATOMIC_ACQUIRE) !=
		    q->vr.last_used)
			return 0;
		if (spin % 1024)
			continue;
		now = fe_now_ns();
		if (now - start >= (uint64_t)timeout_ms * 1000000ull)
			return -ETIMEDOUT;
		if (now - checked >= 10000000ull) {
			struct pollfd p = { .fd = q->cfg.hangup_fd };

			checked = now;
			if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
				return -ECONNRESET;
		}
	}
}

/* What epoll reported: 0 (maybe a call), -ECONNRESET or -EIO. */
static int queue_wait_events(struct fe_queue *q, const struct epoll_event *ev,
			     int n)
{
	uint64_t v;
	int err = 0;

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == 1)
			return -ECONNRESET;
		if (ev[i].data.u64 == 2) {
			log_error("bench: the back-end flagged queue %u as broken",
				  q->cfg.index);
			err = -EIO;
		} else if (read(q->callfd, &v, sizeof(v)) > 0) {
			q->calls++;
		}
	}
	return err;
}

int fe_queue_wait(struct fe_queue *q, int timeout_ms)
{
	struct epoll_event ev[3];
	int n;

	if (q->cfg.poll)
		return queue_wait_poll(q, timeout_ms);
	if (fe_vring_enable_cb(&q->vr)) {
		fe_vring_disable_cb(&q->vr);
		return 0;
	}
	q->waits++;
	do {
		n = epoll_wait(q->epfd, ev, 3, timeout_ms);
	} while (n < 0 && errno == EINTR);
	fe_vring_disable_cb(&q->vr);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return queue_wait_events(q, ev, n);
}

int fe_queue_call(struct fe_queue *q, struct fe_req *r)
{
	int err;

	r->done = NULL;
	err = fe_queue_submit(q, r);
	if (err)
		return err;
	fe_queue_kick(q);
	while (!r->completed) {
		int n = fe_queue_reap(q);

		if (n < 0)
			return n;
		if (r->completed)
			break;
		if (n == 0) {
			err = fe_queue_wait(q, q->cfg.timeout_ms);
			if (err == -ETIMEDOUT)
				log_error("bench: %s on queue %u: no reply in %d ms",
					  fe_fuse_opname(r->opcode), q->cfg.index,
					  q->cfg.timeout_ms);
			if (err)
				return err;
		}
	}
	return r->result;
}
