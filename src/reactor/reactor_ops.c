// SPDX-License-Identifier: MIT
/*
 * reactor_ops.c - turning caller-allocated operations into SQEs and CQEs
 * back into callbacks.
 *
 * An op's user_data is the op's own address, so completion needs no lookup
 * table.  SQEs are only queued here; the loop submits them all with one
 * io_uring_submit() per iteration.  Nothing here ever calls a callback, so a
 * callback cannot run inline from the call that started its op.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>

#include "reactor_internal.h"
#include "vhostfs/log.h"

/* A free SQE; when the queue is full, push the queued ones out first. */
static struct io_uring_sqe *reactor_sqe_get(struct reactor *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	if (sqe)
		return sqe;
	io_uring_submit(&r->ring);
	return io_uring_get_sqe(&r->ring);
}

/*
 * An op that got no SQE completes with @res on the next reap, in order,
 * through the same path as a CQE.  The errno travels in op->flags because
 * the op has no other private room.
 */
static void reactor_op_defer_fail(struct reactor *r, struct reactor_op *op,
				  int res)
{
	op->flags |= (uint32_t)-res << REACTOR_OP_ERR_SHIFT;
	op->next = NULL;
	if (r->failed_tail)
		r->failed_tail->next = op;
	else
		r->failed_head = op;
	r->failed_tail = op;
}

/* Mark @op in flight and return its SQE, or NULL after deferring a failure. */
static struct io_uring_sqe *reactor_op_begin(struct reactor *r,
					     struct reactor_op *op,
					     uint32_t kind)
{
	struct io_uring_sqe *sqe = reactor_sqe_get(r);

	op->flags = kind | REACTOR_OP_INFLIGHT;
	if (!(kind & REACTOR_OP_INTERNAL))
		r->inflight++;
	if (!sqe) {
		log_warn("reactor %s: submission queue stuck, failing op",
			 r->name);
		reactor_op_defer_fail(r, op, -EAGAIN);
	}
	return sqe;
}

int reactor_op_complete(struct reactor *r, struct reactor_op *op, int res)
{
	uint32_t flags = op->flags;
	int user = !(flags & REACTOR_OP_INTERNAL);

	op->flags = 0;
	r->inflight -= (unsigned int)user;
	/* the kernel reports an expired timer as -ETIME; for us it is success */
	if ((flags & REACTOR_OP_TIMEOUT) && res == -ETIME)
		res = 0;
	op->cb(op->arg, res);
	return user;
}

int reactor_failed_run(struct reactor *r)
{
	struct reactor_op *op = r->failed_head;
	int n = 0;

	/* detach first: callbacks may fail new ops onto a fresh list */
	r->failed_head = r->failed_tail = NULL;
	while (op) {
		struct reactor_op *next = op->next;
		int res = -(int)(op->flags >> REACTOR_OP_ERR_SHIFT);

		op->flags &= (1u << REACTOR_OP_ERR_SHIFT) - 1;
		n += reactor_op_complete(r, op, res);
		op = next;
	}
	return n;
}

void reactor_readv(struct reactor *r, struct reactor_op *op, int fd,
		   const struct iovec *iov, unsigned int cnt, uint64_t off)
{
	reactor_readv2(r, op, fd, iov, cnt, off, 0);
}

void reactor_writev(struct reactor *r, struct reactor_op *op, int fd,
		    const struct iovec *iov, unsigned int cnt, uint64_t off)
{
	reactor_writev2(r, op, fd, iov, cnt, off, 0);
}

void reactor_readv2(struct reactor *r, struct reactor_op *op, int fd,
		    const struct iovec *iov, unsigned int cnt, uint64_t off,
		    int rw_flags)
{
	struct io_uring_sqe *sqe = reactor_op_begin(r, op, 0);

	if (!sqe)
		return;
	io_uring_prep_readv2(sqe, fd, iov, cnt, off, rw_flags);
	io_uring_sqe_set_data(sqe, op);
}

void reactor_writev2(struct reactor *r, struct reactor_op *op, int fd,
		     const struct iovec *iov, unsigned int cnt, uint64_t off,
		     int rw_flags)
{
	struct io_uring_sqe *sqe = reactor_op_begin(r, op, 0);

	if (!sqe)
		return;
	io_uring_prep_writev2(sqe, fd, iov, cnt, off, rw_flags);
	io_uring_sqe_set_data(sqe, op);
}

void reactor_fsync(struct reactor *r, struct reactor_op *op, int fd,
		   bool datasync)
{
	struct io_uring_sqe *sqe = reactor_op_begin(r, op, 0);

	if (!sqe)
		return;
	io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
	io_uring_sqe_set_data(sqe, op);
}

void reactor_poll_fd(struct reactor *r, struct reactor_op *op, int fd,
		     uint32_t poll_mask)
{
	struct io_uring_sqe *sqe = reactor_op_begin(r, op, 0);

	if (!sqe)
		return;
	io_uring_prep_poll_add(sqe, fd, poll_mask);
	io_uring_sqe_set_data(sqe, op);
}

static void reactor_read_flags(struct reactor *r, struct reactor_op *op,
			       int fd, void *buf, size_t len, uint32_t kind)
{
	struct io_uring_sqe *sqe = reactor_op_begin(r, op, kind);

	if (!sqe)
		return;
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	/* offset -1: "current position", which stream files ignore */
	io_uring_prep_read(sqe, fd, buf, (unsigned int)len, (uint64_t)-1);
	io_uring_sqe_set_data(sqe, op);
}

void reactor_read(struct reactor *r, struct reactor_op *op, int fd,
		  void *buf, size_t len)
{
	reactor_read_flags(r, op, fd, buf, len, 0);
}

void reactor_timeout(struct reactor *r, struct reactor_op *op, uint64_t ns)
{
	struct io_uring_sqe *sqe = reactor_op_begin(r, op, REACTOR_OP_TIMEOUT);
	struct __kernel_timespec *ts;

	if (!sqe)
		return;
	ts = &r->sqe_ts[sqe - r->ring.sq.sqes];
	ts->tv_sec = (long long)(ns / 1000000000u);
	ts->tv_nsec = (long long)(ns % 1000000000u);
	io_uring_prep_timeout(sqe, ts, 0, 0);
	io_uring_sqe_set_data(sqe, op);
}

void reactor_cancel(struct reactor *r, struct reactor_op *op)
{
	struct io_uring_sqe *sqe;
	uint64_t udata = (uint64_t)(uintptr_t)op;

	/* done already, or failing from the deferred list: nothing to stop */
	if (!(op->flags & REACTOR_OP_INFLIGHT) ||
	    (op->flags >> REACTOR_OP_ERR_SHIFT) != 0)
		return;
	sqe = reactor_sqe_get(r);
	if (!sqe) {
		log_warn("reactor %s: no SQE to cancel an op", r->name);
		return;
	}
	if (op->flags & REACTOR_OP_TIMEOUT)
		io_uring_prep_timeout_remove(sqe, udata, 0);
	else
		io_uring_prep_cancel64(sqe, udata, 0);
	io_uring_sqe_set_data64(sqe, REACTOR_UDATA_IGNORE);
}

unsigned int reactor_inflight(const struct reactor *r)
{
	return r->inflight;
}

static void reactor_efd_cpl(void *arg, int res)
{
	struct reactor *r = arg;

	r->efd_armed = false;
	if (res < 0 && res != -ECANCELED && res != -EINTR)
		log_error("reactor %s: eventfd read failed: %d", r->name, res);
	/* the loop runs the messages right after the reap that got us here */
	if (!r->closing)
		reactor_efd_arm(r);
}

void reactor_efd_arm(struct reactor *r)
{
	reactor_op_init(&r->efd_op, reactor_efd_cpl, r);
	r->efd_armed = true;
	reactor_read_flags(r, &r->efd_op, r->efd, &r->efd_buf,
			   sizeof(r->efd_buf), REACTOR_OP_INTERNAL);
}
